// An in-process audit store for unit tests (the operator's and ours): entries in an array.
import type { AuditEntry } from './audit-entry.ts';
import { AuditStoreError, type AuditStore } from './audit-store.ts';

export class MemoryAuditStore implements AuditStore {
  readonly description = 'memory';
  readonly entries: AuditEntry[] = [];
  /** Set to make the next append fail (to exercise a broken medium). */
  failNextAppend = false;

  async tail(chain: string): Promise<AuditEntry | undefined> {
    return this.entries.findLast((e) => e.chain === chain);
  }

  async append(entry: AuditEntry): Promise<void> {
    if (this.failNextAppend) {
      this.failNextAppend = false;
      throw new AuditStoreError('write-failed', 'injected');
    }
    // Copy, so the test can tamper with what is "stored" without touching what was returned.
    this.entries.push(structuredClone(entry));
  }

  async close(): Promise<void> {}
}
