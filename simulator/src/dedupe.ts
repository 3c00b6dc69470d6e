// Idempotency keys seen within a sliding window. Keys are inserted in time order, so
// eviction walks the Map from its oldest entry and stops at the first live one.
export class DedupeWindow {
  private readonly seen = new Map<string, number>();

  constructor(readonly windowMs: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Drops keys older than the window; call once per batch, not per message. */
  evict(now: number): void {
    const oldest = now - this.windowMs;
    for (const [key, at] of this.seen) {
      if (at > oldest) break;
      this.seen.delete(key);
    }
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  add(key: string, now: number): void {
    this.seen.set(key, now);
  }
}
