import { parseDuration, type CampaignStatus, type MessagingCampaign } from '@anshim/api';
import type { StepResult } from './step.ts';

export const DEFAULT_RETENTION = '24h';

/**
 * Retention: once it ends, the campaign's data is shredded (destroy-data: workers, topics, the
 * key, and the signed record) and the object kept as the record, phase Destroyed. Until then,
 * reconcile again when it is due.
 */
export function retention(mc: MessagingCampaign, status: CampaignStatus, now: number): StepResult {
  if (status.phase !== 'Completed' || !status.completionTime) return {};
  const due = Date.parse(status.completionTime) + parseDuration(mc.spec.retentionAfterCompletion ?? DEFAULT_RETENTION);
  const wait = due - now;
  if (wait > 0) return { requeueAfterMs: wait };
  return {
    actions: [{ kind: 'destroy-data', trigger: 'retention-ended' }],
    status: { phase: 'Destroyed', workers: { ...status.workers, replicas: 0, reason: 'campaign destroyed' } },
    conditions: [
      {
        type: 'DataDestroyed',
        ok: true,
        reason: 'RetentionEnded',
        message: 'data key destroyed, topics and workers deleted',
      },
    ],
  };
}
