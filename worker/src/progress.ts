import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { CampaignProgress } from '@anshim/api';
import { ResultCode } from '@anshim/proto';

export class ProgressCounters {
  private readonly byCampaign = new Map<string, CampaignProgress>();
  private readonly dirty = new Set<string>();

  /** Produce-to-carrier-ack latency of accepted messages, in microseconds. */
  readonly ackLatencyUs: RecordableHistogram = createHistogram();

  constructor(private readonly workerId: string) {}

  ackLatency(enqueuedAtMs: number, now: number): void {
    if (enqueuedAtMs > 0) this.ackLatencyUs.record(Math.max(1, Math.round((now - enqueuedAtMs) * 1000)));
  }

  private entry(campaignId: string): CampaignProgress {
    let p = this.byCampaign.get(campaignId);
    if (!p) {
      p = {
        campaignId,
        workerId: this.workerId,
        sent: 0,
        duplicates: 0,
        results: {},
        fellBack: 0,
        deadLettered: {},
        held: 0,
        updatedAt: 0,
      };
      this.byCampaign.set(campaignId, p);
    }
    this.dirty.add(campaignId);
    p.updatedAt = Date.now();
    return p;
  }

  sent(campaignId: string, n: number, duplicates: number): void {
    const p = this.entry(campaignId);
    p.sent += n;
    p.duplicates += duplicates;
  }

  result(campaignId: string, result: ResultCode, n = 1): void {
    const p = this.entry(campaignId);
    const name = ResultCode[result] ?? String(result);
    p.results[name] = (p.results[name] ?? 0) + n;
  }

  fellBack(campaignId: string, n: number): void {
    this.entry(campaignId).fellBack += n;
  }

  held(campaignId: string, n: number): void {
    this.entry(campaignId).held += n;
  }

  deadLettered(campaignId: string, reason: string, n = 1): void {
    const p = this.entry(campaignId);
    p.deadLettered[reason] = (p.deadLettered[reason] ?? 0) + n;
  }

  all(): CampaignProgress[] {
    return [...this.byCampaign.values()];
  }

  get(campaignId: string): CampaignProgress | undefined {
    return this.byCampaign.get(campaignId);
  }

  /** The campaigns changed since the last call. */
  takeDirty(): CampaignProgress[] {
    const out = [...this.dirty].map((id) => this.byCampaign.get(id)!);
    this.dirty.clear();
    return out;
  }
}
