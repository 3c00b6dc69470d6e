// Token bucket per second: the carrier's contracted submission rate. Burst = one second's worth.
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly ratePerSec: number,
    now = performance.now(),
  ) {
    this.tokens = ratePerSec;
    this.refilledAt = now;
  }

  private refill(now: number): void {
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.ratePerSec, this.tokens + (elapsed * this.ratePerSec) / 1000);
      this.refilledAt = now;
    }
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /**
   * How long until the bucket holds a token for the `queued`-th (0-based) refused message:
   * spreading the hints spreads the retries, instead of all of them hitting the next token.
   */
  retryAfterMs(queued: number): number {
    const missing = 1 - this.tokens + queued;
    return Math.max(1, Math.ceil((missing * 1000) / this.ratePerSec));
  }
}
