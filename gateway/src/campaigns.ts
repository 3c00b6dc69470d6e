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
  /** spec.rateLimit.messagesPerSecond: bounds the single messages the gateway takes for it. */
  messagesPerSecond?: number;
  /** spec.acceptMessages, when the campaign says it. */
  acceptMessages?: boolean;
  /** The template's `#{variables}` (not the recipient's name): an upload must have a column for each. */
  templateVariables?: string[];
}

/**
 * Whether POST /messages may add a recipient: an open single-message route on a bulk campaign is
 * an SMS-pumping door from the sender's registered callback number, so only OTP and alert
 * traffic takes them unless the campaign says so; an advertising campaign never does, because
 * the caller of a single message cannot assert the recipient's prior consent.
 */
export const acceptsMessages = (c: Pick<CampaignInfo, 'purpose' | 'priorityClass' | 'acceptMessages'>): boolean =>
  c.purpose !== 'advertising' &&
  (c.acceptMessages ?? (c.priorityClass === 'transactional' || c.priorityClass === 'alert'));

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
