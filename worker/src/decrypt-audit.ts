import type { AuditChain } from '@anshim/compliance';
import type { Logger } from '@anshim/core';

/**
 * The worker's part of the audit chain: how many sealed recipients it opened (and failed to
 * open) per campaign, as counts, never content. Gathered over a second so a busy worker writes
 * one entry per campaign per second, not one per batch.
 */
export class DecryptAudit {
  private readonly pending = new Map<string, { opened: number; failed: number }>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly chain: AuditChain,
    private readonly actor: string,
    private readonly log: Logger,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
  }

  record(campaignId: string, opened: number, failed: number): void {
    if (opened === 0 && failed === 0) return;
    const p = this.pending.get(campaignId) ?? { opened: 0, failed: 0 };
    p.opened += opened;
    p.failed += failed;
    this.pending.set(campaignId, p);
  }

  flush(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    this.writing = this.writing.then(async () => {
      for (const [subject, details] of batch) {
        await this.chain
          .append({ actor: this.actor, action: 'decrypt-batch', subject, details })
          .catch((err: Error) => this.log.error({ campaign: subject, err: err.message }, 'decrypt audit not written'));
      }
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** Prepare outcomes that opened the sealed recipient, and those that could not. */
export const OPEN_FAILURES = new Set(['decrypt-failed', 'unknown-key', 'key-destroyed']);
