import { type CampaignCounts, type MessagingCampaign } from '@anshim/api';
import type { KekDestruction } from '@anshim/core';

/** What a campaign's crypto-shredding did: no personal data, only ids, counts and times. */
export interface DestructionRecord {
  campaign: string;
  campaignUid: string;
  keyIds: string[];
  /** The KMS's answers for the campaign's wrapping keys it destroyed (none with a local KEK). */
  kmsDestructions: KekDestruction[];
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
