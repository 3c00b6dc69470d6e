// Where audit entries are kept. One small interface, one module per medium: an append-only
// JSONL file (file-audit-store.ts) and a Kafka topic (kafka-audit-store.ts).
import type { AuditEntry } from './audit-entry.ts';
import { ComplianceError } from './errors.ts';

export interface AuditStore {
  /** Where the entries go, for messages (`file /var/lib/anshim/audit.jsonl`, `kafka anshim.audit`). */
  readonly description: string;
  /** The last stored entry of `chain` (shape-checked), or undefined when the chain has none yet. */
  tail(chain: string): Promise<AuditEntry | undefined>;
  /** Stores one entry durably: resolves only once it would survive a crash of this process. */
  append(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}

export type AuditStoreErrorReason =
  /** A stored record that should be an entry is not one (unparseable line, wrong shape). */
  | 'corrupt-record'
  /** The medium refused or lost a write. */
  | 'write-failed'
  /** The medium cannot be reached or read in time (broker down, topic missing). */
  | 'unavailable'
  | 'closed';

export class AuditStoreError extends ComplianceError<AuditStoreErrorReason> {
  override readonly name = 'AuditStoreError';
}
