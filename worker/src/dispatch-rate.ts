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

  /**
   * Sends `items` through `send` no faster than the campaign's pace: in pieces of a tenth of a
   * second's worth, each sent as soon as its tokens are there (without waiting for the one
   * before to be answered), so the carriers see a steady stream rather than a chunk at once.
   * Outcomes come back in the order of `items`.
   */
  async paced<T, R>(campaignId: string, items: readonly T[], send: (part: T[]) => Promise<R[]>): Promise<R[]> {
    const perSecond = this.perSecond(campaignId);
    if (perSecond === undefined || perSecond <= 0 || items.length === 0) return send([...items]);
    const bucket = this.bucketFor(campaignId, perSecond);
    const piece = Math.max(1, Math.floor(perSecond / 10));
    const sends: Array<Promise<R[]>> = [];
    for (let at = 0; at < items.length; at += piece) {
      const part = items.slice(at, at + piece);
      await bucket.removeTokens(part.length);
      sends.push(send(part));
      // Between pieces: the consumer's heartbeat (a chunk may take many seconds at a low rate).
      if (at + piece < items.length) await this.opts.onWait?.();
    }
    return (await Promise.all(sends)).flat();
  }

  private bucketFor(campaignId: string, perSecond: number): TokenBucket {
    let entry = this.buckets.get(campaignId);
    if (!entry || entry.perSecond !== perSecond) {
      // A tenth of a second of burst: never more than that leaves at once, after a pause.
      const size = Math.max(1, Math.floor(perSecond / 10));
      const bucket = new TokenBucket({ bucketSize: size, tokensPerInterval: perSecond, interval: 'second' });
      entry = { bucket, perSecond };
      this.buckets.set(campaignId, entry);
    }
    return entry.bucket;
  }
}
