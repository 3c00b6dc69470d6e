// What the gateway needs to know about a campaign. The operator implements CampaignLookup
// from its informer cache of MessagingCampaign objects; tests use StaticCampaignLookup.
import type { CampaignChannel, Phase, PriorityClass, Purpose } from '@anshim/api';
import { Priority } from '@anshim/proto';

export interface CampaignInfo {
  /** spec.purpose: what the recipients' data may be used for. */
  purpose: Purpose;
  /** spec.priorityClass (default bulk). */
  priorityClass: PriorityClass;
  /** status.phase. */
  phase: Phase;
  /** The campaign's Kafka topic, as the operator created it. */
  topic: string;
  /** spec.channel; every channel but PUSH reaches a handset, so landlines are refused for them. */
  channel?: CampaignChannel;
}

export interface CampaignLookup {
  /** `campaignId` is `<namespace>.<name>`; undefined when there is no such campaign. */
  get(campaignId: string): CampaignInfo | undefined | Promise<CampaignInfo | undefined>;
}

export class StaticCampaignLookup implements CampaignLookup {
  private readonly campaigns = new Map<string, CampaignInfo>();

  constructor(entries: Iterable<[string, CampaignInfo]> = []) {
    for (const [id, info] of entries) this.campaigns.set(id, info);
  }

  set(campaignId: string, info: CampaignInfo): this {
    this.campaigns.set(campaignId, info);
    return this;
  }

  get(campaignId: string): CampaignInfo | undefined {
    return this.campaigns.get(campaignId);
  }
}

export const PRIORITY_OF: Record<PriorityClass, Priority> = {
  bulk: Priority.BULK,
  normal: Priority.NORMAL,
  transactional: Priority.TRANSACTIONAL,
  alert: Priority.ALERT,
};
