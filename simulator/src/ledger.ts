// What a carrier accepted and how each message ended, for tests to check "every message
// exactly once". Memory: one Map entry (message id → result) per accepted message.
import { ResultCode } from '@anshim/proto';

const PENDING = ResultCode.RESULT_UNSPECIFIED;
const RESULT_SLOTS = 16;

export type ResultName = keyof typeof ResultCode;
export type ResultCounts = Partial<Record<ResultName, number>>;

export interface CampaignSummary {
  /** ACCEPTED acks (one per idempotency key within the dedupe window). */
  accepted: number;
  /** Distinct logical message ids accepted. */
  messages: number;
  /** Accepted again under another idempotency key (a second send of the same message). */
  reaccepted: number;
  /** Reported DELIVERED more than once. */
  deliveredAgain: number;
  /** Accepted, report not produced yet. */
  pending: number;
  byResult: ResultCounts;
}

export interface LedgerSummary {
  accepted: number;
  duplicates: number;
  throttled: number;
  rejected: number;
  /** Submit calls ended or refused with gRPC UNAVAILABLE (outage). */
  unavailable: number;
  /** Acks computed but never written because their stream ended (the sender must retry). */
  acksLost: number;
  reaccepted: number;
  /** Times a Submit stream stopped reading because its acks were not taken (back-pressure). */
  readPauses: number;
  pending: number;
  /** Reports acknowledged on AckedReports streams. */
  reportsAcked: number;
  /** Reports written on an AckedReports stream that ended unacknowledged, and offered again. */
  reportsRedelivered: number;
  /** Messages refused (THROTTLED) because the reports waiting for subscribers filled the carrier's queue. */
  reportQueueFull: number;
  byResult: ResultCounts;
  byCampaign: Record<string, CampaignSummary>;
}

class CampaignEntry {
  readonly results = new Map<string, ResultCode>();
  readonly byResult = new Uint32Array(RESULT_SLOTS);
  accepted = 0;
  reaccepted = 0;
  deliveredAgain = 0;
  pending = 0;

  constructor(readonly id: string) {}
}

function countsOf(slots: Uint32Array): ResultCounts {
  const counts: ResultCounts = {};
  slots.forEach((n, code) => {
    const name = ResultCode[code] as ResultName | undefined;
    if (n > 0 && name !== undefined) counts[name] = n;
  });
  return counts;
}

export class CarrierLedger {
  accepted = 0;
  duplicates = 0;
  throttled = 0;
  rejected = 0;
  unavailable = 0;
  acksLost = 0;
  reaccepted = 0;
  reportsAcked = 0;
  reportsRedelivered = 0;
  reportQueueFull = 0;
  /** Times a Submit stream stopped reading batches because its acks were not being taken (back-pressure). */
  readPauses = 0;
  private pendingCount = 0;
  private readonly results = new Uint32Array(RESULT_SLOTS);
  private readonly campaigns = new Map<string, CampaignEntry>();

  /**
   * Records an acceptance and returns the campaign's interned id: reports keep that one
   * string instead of a decoded copy per message.
   */
  recordAccepted(campaignId: string, messageId: string): string {
    let campaign = this.campaigns.get(campaignId);
    if (campaign === undefined) this.campaigns.set(campaignId, (campaign = new CampaignEntry(campaignId)));
    this.accepted++;
    campaign.accepted++;
    campaign.pending++;
    this.pendingCount++;
    if (campaign.results.has(messageId)) {
      campaign.reaccepted++;
      this.reaccepted++;
    } else campaign.results.set(messageId, PENDING);
    return campaign.id;
  }

  /** Records the final result of an accepted message (when its report is produced). */
  recordResult(campaignId: string, messageId: string, result: ResultCode): void {
    const campaign = this.campaigns.get(campaignId);
    if (campaign === undefined) return;
    if (result === ResultCode.DELIVERED && campaign.results.get(messageId) === ResultCode.DELIVERED)
      campaign.deliveredAgain++;
    else campaign.results.set(messageId, result);
    campaign.byResult[result] = (campaign.byResult[result] ?? 0) + 1;
    campaign.pending--;
    this.results[result] = (this.results[result] ?? 0) + 1;
    this.pendingCount--;
  }

  /** Accepted messages whose report is not produced yet. */
  get pending(): number {
    return this.pendingCount;
  }

  byResult(): ResultCounts {
    return countsOf(this.results);
  }

  campaignIds(): string[] {
    return [...this.campaigns.keys()];
  }

  campaign(campaignId: string): CampaignSummary | undefined {
    const c = this.campaigns.get(campaignId);
    if (c === undefined) return undefined;
    return {
      accepted: c.accepted,
      messages: c.results.size,
      reaccepted: c.reaccepted,
      deliveredAgain: c.deliveredAgain,
      pending: c.pending,
      byResult: countsOf(c.byResult),
    };
  }

  byCampaign(): Record<string, CampaignSummary> {
    const out: Record<string, CampaignSummary> = {};
    for (const id of this.campaigns.keys()) out[id] = this.campaign(id) as CampaignSummary;
    return out;
  }

  /** The latest result of a message (RESULT_UNSPECIFIED while pending), or undefined if never accepted. */
  resultOf(campaignId: string, messageId: string): ResultCode | undefined {
    return this.campaigns.get(campaignId)?.results.get(messageId);
  }

  /** Ids of the campaign's messages, optionally only those whose latest result is `result`. */
  *messageIds(campaignId: string, result?: ResultCode): Generator<string> {
    const campaign = this.campaigns.get(campaignId);
    if (campaign === undefined) return;
    for (const [id, r] of campaign.results) if (result === undefined || r === result) yield id;
  }

  deliveredMessageIds(campaignId: string): string[] {
    return [...this.messageIds(campaignId, ResultCode.DELIVERED)];
  }

  summary(): LedgerSummary {
    return {
      accepted: this.accepted,
      duplicates: this.duplicates,
      throttled: this.throttled,
      rejected: this.rejected,
      unavailable: this.unavailable,
      acksLost: this.acksLost,
      reaccepted: this.reaccepted,
      readPauses: this.readPauses,
      pending: this.pendingCount,
      reportsAcked: this.reportsAcked,
      reportsRedelivered: this.reportsRedelivered,
      reportQueueFull: this.reportQueueFull,
      byResult: this.byResult(),
      byCampaign: this.byCampaign(),
    };
  }
}
