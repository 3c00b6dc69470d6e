import * as k8s from '@kubernetes/client-node';
import type { CampaignCounts, MessagingCampaign } from './campaign.ts';
import { CAMPAIGN_LABEL, campaignIdOf } from './campaign.ts';

/** What a campaign's crypto-shredding did: no personal data, only ids, counts and times. */
export interface DestructionRecord {
  campaign: string;
  campaignUid: string;
  keyIds: string[];
  topicsDeleted: string[];
  counts?: CampaignCounts;
  completedAt?: string;
  destroyedAt: string;
  /** Seconds from completion to destruction (absent when deleted before completing). */
  completionToDestructionSeconds?: number;
  trigger: 'retention-ended' | 'deleted';
}

/** Writes the record somewhere that outlives the campaign object; returns its reference name. */
export interface DestructionRecorder {
  record(mc: MessagingCampaign, record: DestructionRecord): Promise<string>;
}

export const destructionRecordName = (mc: MessagingCampaign): string => `anshim-destruction-${mc.metadata.name}`;

/**
 * Keeps the record in a ConfigMap with no owner (so deleting the campaign does not delete
 * its proof). The signed certificate (compliance) builds on the same record.
 */
export class ConfigMapDestructionRecorder implements DestructionRecorder {
  private readonly core: k8s.CoreV1Api;
  constructor(kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async record(mc: MessagingCampaign, record: DestructionRecord): Promise<string> {
    const name = destructionRecordName(mc);
    const body: k8s.V1ConfigMap = {
      metadata: {
        name,
        namespace: mc.metadata.namespace,
        labels: { [CAMPAIGN_LABEL]: mc.metadata.name, 'app.kubernetes.io/managed-by': 'anshim-operator' },
        annotations: { 'messaging.anshim.io/campaign-id': campaignIdOf(mc) },
      },
      data: { 'record.json': JSON.stringify(record, null, 2) },
    };
    try {
      await this.core.createNamespacedConfigMap({ namespace: mc.metadata.namespace, body });
    } catch (err) {
      // Idempotent: a reconcile that died after writing the record finds it there.
      if ((err as { code?: number }).code !== 409) throw err;
    }
    return name;
  }
}
