// spec.rateLimit.messagesPerSecond, held across all of a campaign's workers without talking to
// each other: each worker dispatches at the rate times its share of the campaign topic's
// partitions (those the consumer group assigned it / all of them). The shares sum to one, so
// the fleet sends at most the campaign's rate however many replicas run, and a rebalance (a
// replica added or gone) re-divides it. Token counting is the `limiter` package's bucket.
import { TokenBucket } from 'limiter';

export interface DispatchRateOptions {
  /** Called between waits (each at most about a second), so a Kafka consumer keeps its membership. */
  onWait?: () => Promise<void>;
}

export class DispatchRate {
  private readonly buckets = new Map<string, { bucket: TokenBucket; perSecond: number }>();
  private share = 1;

  constructor(
    /** messagesPerSecond by campaign id; a campaign not listed is not paced. */
    private readonly rates: ReadonlyMap<string, number>,
    private readonly opts: DispatchRateOptions = {},
  ) {}

  /** This worker's share of the partitions; takes effect for the next dispatch. */
  setShare(assigned: number, total: number): void {
    const share = total > 0 ? Math.min(1, Math.max(0, assigned / total)) : 1;
    if (share === this.share) return;
    this.share = share;
    this.buckets.clear();
  }

  /** Messages per second this worker may dispatch for the campaign now (undefined: not paced). */
  perSecond(campaignId: string): number | undefined {
    const rate = this.rates.get(campaignId);
    return rate === undefined ? undefined : rate * this.share;
  }

  /** Waits until `count` messages of the campaign may go. */
  async take(campaignId: string, count: number): Promise<void> {
    const perSecond = this.perSecond(campaignId);
    if (perSecond === undefined || perSecond <= 0 || count <= 0) return;
    let entry = this.buckets.get(campaignId);
    if (!entry || entry.perSecond !== perSecond) {
      // One second of burst: a whole second's messages may leave together, never more.
      const bucket = new TokenBucket({ bucketSize: perSecond, tokensPerInterval: perSecond, interval: 'second' });
      entry = { bucket, perSecond };
      this.buckets.set(campaignId, entry);
    }
    // The bucket refuses a request larger than itself: take a chunk in pieces of at most a second's worth.
    for (let left = count; left > 0;) {
      const piece = Math.min(left, perSecond);
      await entry.bucket.removeTokens(piece);
      left -= piece;
      if (left > 0) await this.opts.onWait?.();
    }
  }
}
