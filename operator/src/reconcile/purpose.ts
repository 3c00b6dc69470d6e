import type { MessagingCampaign } from '@anshim/api';
import { failed, type StepResult } from './step.ts';

/**
 * Purpose binding (개인정보 보호법 제18조): data collected for one purpose is not used for another.
 * `collectedFor` is the purpose the gateway recorded on the dataset at ingest, if it has one yet.
 */
export function bindPurpose(mc: MessagingCampaign, collectedFor: string | undefined): StepResult {
  const dataset = mc.spec.audience.datasetRef.name;
  if (!collectedFor)
    return {
      conditions: [
        {
          type: 'PurposeBound',
          ok: true,
          reason: 'AwaitingDataset',
          message: `dataset ${dataset} not ingested yet; uploads must declare ${mc.spec.purpose}`,
        },
      ],
    };
  if (collectedFor !== mc.spec.purpose)
    return failed(
      'PurposeBound',
      'PurposeMismatch',
      `dataset ${dataset} was collected for ${collectedFor}; it cannot be used for ${mc.spec.purpose}`,
      true,
    );
  return {
    conditions: [
      {
        type: 'PurposeBound',
        ok: true,
        reason: 'PurposeMatches',
        message: `dataset ${dataset} was collected for ${collectedFor}`,
      },
    ],
  };
}
