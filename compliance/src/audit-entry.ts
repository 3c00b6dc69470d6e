// One audit entry and its hash. An entry records who did what to which campaign, with counts
// and ids only; its hash covers every field but itself, including the previous entry's hash,
// so changing, dropping, inserting or moving any entry breaks the chain from there on.
import { createHash } from 'node:crypto';
import { canonicalJson, isJsonObject, type JsonObject, type JsonValue } from './canonical.ts';

/** The hash a chain's first entry links to. */
export const GENESIS_HASH = '0'.repeat(64);

/** What the platform records, and the details each action carries (counts and ids, never content). */
export type AuditDetailsByAction = {
  /** A recipient spreadsheet accepted and sealed by the gateway. `sender` is the sending organisation. */
  upload: {
    sender: string;
    rows: number;
    bytes: number;
    uploadId?: string;
    outcome?: 'completed' | 'failed';
    errorCode?: string;
    produced?: number;
  };
  /** One message through the gateway's single-message API. */
  message: { sender: string; outcome: 'completed' | 'failed'; errorCode?: string; produced: number };
  /** A number put on a sender's opt-out list (subject: the 080 line); `tag` is the list record's key, never the number. */
  'opt-out': { outcome: 'completed' | 'failed'; errorCode?: string; tag?: string };
  /** A number taken off a sender's opt-out list again (re-subscribed), by a caller holding that stricter grant. */
  'opt-in': { outcome: 'completed' | 'failed'; errorCode?: string; tag?: string };
  /** A MessagingCampaign phase change. */
  'campaign-transition': { from: string; to: string; reason?: string };
  /** A worker opened a batch of sealed recipients: how many opened, how many failed to. */
  'decrypt-batch': { opened: number; failed: number };
  /** A campaign's data keys crypto-shredded. */
  'key-destroyed': { keyIds: string[]; /** Campaign wrapping keys the KMS destroyed. */ kmsKeys?: string[] };
  /** A campaign's Kafka topics deleted. */
  'topics-deleted': { topics: string[] };
  /** A destruction certificate signed; its SHA-256 lets an auditor match file to entry. */
  'certificate-issued': { certificateId: string; sha256: string };
  /** Someone read campaign data through an administrative API (status, results, masked lists). */
  'admin-read': { resource: string; records?: number };
};

export type AuditAction = keyof AuditDetailsByAction;
export const AUDIT_ACTIONS = [
  'upload',
  'message',
  'opt-out',
  'opt-in',
  'campaign-transition',
  'decrypt-batch',
  'key-destroyed',
  'topics-deleted',
  'certificate-issued',
  'admin-read',
] as const satisfies readonly AuditAction[];

/** What a caller appends; the chain fills in chain, seq, time, prevHash and hash. */
export type AuditEvent = {
  [A in AuditAction]: {
    /** Who: a service account or a staff id (`system:operator`, `staff:u-1042`), never a name. */
    actor: string;
    action: A;
    /** What it was done to: a campaign id (`<namespace>.<name>`) or another resource id. */
    subject: string;
    details: AuditDetailsByAction[A];
  };
}[AuditAction];

export interface AuditEntry {
  chain: string;
  seq: number;
  /** ISO 8601, UTC. */
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: JsonObject;
  prevHash: string;
  hash: string;
}

/** What a certificate cites: the last entry of a chain. seq 0 and GENESIS_HASH for an empty chain. */
export interface ChainHead {
  chain: string;
  seq: number;
  hash: string;
}

/** SHA-256 (hex) over the canonical JSON of the entry without its `hash`. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { chain, seq, time, actor, action, subject, details, prevHash } = entry;
  const body = canonicalJson({ chain, seq, time, actor, action, subject, details, prevHash } as JsonValue);
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** Why a value read from storage is not an audit entry, or undefined if it is one. */
export function entryShapeProblem(value: unknown): string | undefined {
  if (!isJsonObject(value)) return 'not a JSON object';
  const fields = ['chain', 'seq', 'time', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash'];
  const extra = Object.keys(value).filter((k) => !fields.includes(k));
  if (extra.length) return `unexpected field(s) ${extra.join(', ')}`;
  for (const f of ['chain', 'actor', 'action', 'subject'] as const)
    if (typeof value[f] !== 'string' || value[f] === '') return `${f} must be a non-empty string`;
  if (!Number.isSafeInteger(value.seq) || (value.seq as number) < 1) return 'seq must be a positive integer';
  if (typeof value.time !== 'string' || !ISO_UTC.test(value.time) || Number.isNaN(Date.parse(value.time)))
    return 'time must be an ISO 8601 UTC timestamp';
  if (!isJsonObject(value.details)) return 'details must be an object';
  for (const f of ['prevHash', 'hash'] as const)
    if (typeof value[f] !== 'string' || !HEX64.test(value[f])) return `${f} must be 64 lowercase hex digits`;
  return undefined;
}

export function isAuditEntry(value: unknown): value is AuditEntry {
  return entryShapeProblem(value) === undefined;
}

export function headOf(entry: AuditEntry): ChainHead {
  return { chain: entry.chain, seq: entry.seq, hash: entry.hash };
}

export function genesisHead(chain: string): ChainHead {
  return { chain, seq: 0, hash: GENESIS_HASH };
}
