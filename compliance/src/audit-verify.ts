// The auditor's check of an audit log: every chain in it must run 1, 2, 3, … in order, each
// entry must hash to its `hash`, and each must link to its predecessor's hash. Anything else
// is reported with the seq (and line) where it shows and what it means, not just "false".
import { entryHash, entryShapeProblem, GENESIS_HASH, type AuditEntry, type ChainHead } from './audit-entry.ts';
import { isJsonObject } from './canonical.ts';
import { findPhoneLike } from './personal-data.ts';

export type AuditIssueKind =
  /** A line or record that is not an audit entry at all. */
  | 'malformed'
  /** An entry holds phone-number-like content (the writer refuses it, so it was added later). */
  | 'personal-data'
  /** The entry's fields do not hash to its `hash`: it was edited, or its hash was forged. */
  | 'hash-mismatch'
  /** Seq 1 does not link to the genesis hash: the chain's start was replaced. */
  | 'genesis-mismatch'
  /** Seqs absent between the chain's start and its last entry: entries were dropped. */
  | 'missing'
  /** A second entry claims a seq already taken: an entry was inserted. */
  | 'duplicate'
  /** An entry appears after one with a higher seq: entries were reordered. */
  | 'out-of-order'
  /** prevHash is not the previous entry's hash: that entry was rewritten (hash recomputed) or this one replaced. */
  | 'broken-link'
  /** The chain ends before the head a certificate (or the caller) cites: its tail was cut off. */
  | 'truncated'
  /** The entry at the cited head's seq has another hash: the chain was rewritten since it was cited. */
  | 'head-mismatch'
  /** A cited chain has no entries here at all. */
  | 'missing-chain';

export interface AuditIssue {
  kind: AuditIssueKind;
  chain?: string;
  seq?: number;
  /** 1-based line (or record) number in the input, when the issue is about one record. */
  line?: number;
  /** What was found and what it means, for the auditor; never an entry's content. */
  reason: string;
}

export interface ChainReport {
  chain: string;
  /** Well-formed entries of this chain in the input. */
  entries: number;
  /** The highest-seq entry: what a certificate issued now would cite. */
  head: ChainHead | undefined;
  ok: boolean;
  issues: AuditIssue[];
}

export interface AuditReport {
  ok: boolean;
  records: number;
  chains: ChainReport[];
  /** Every issue, chain by chain in seq order, then records that are not entries. */
  issues: AuditIssue[];
}

export interface AuditVerifyOptions {
  /** Heads cited elsewhere (certificates): each chain must reach its cited seq with the cited hash. */
  expectedHeads?: readonly ChainHead[];
}

/** One stored record and where it was found. */
export interface AuditRecord {
  value: unknown;
  line?: number;
  /** The stored bytes did not parse as JSON. */
  notJson?: boolean;
}

interface Located {
  entry: AuditEntry;
  line: number;
}

function describe(seqs: number[]): string {
  return seqs.length === 1 ? `entry ${seqs[0]}` : `entries ${seqs[0]}–${seqs[seqs.length - 1]}`;
}

/** Chooses, among entries claiming one seq, the one its successor links to (else the first). */
function chosen(bySeq: Map<number, Located[]>, seq: number): Located | undefined {
  const candidates = bySeq.get(seq);
  if (!candidates || candidates.length < 2) return candidates?.[0];
  const next = bySeq.get(seq + 1);
  const linked = candidates.find((c) => next?.some((n) => n.entry.prevHash === c.entry.hash));
  return linked ?? candidates[0];
}

function verifyChain(chain: string, located: Located[], expected: readonly ChainHead[]): ChainReport {
  const issues: AuditIssue[] = [];
  const at = (l: Located) => ({ chain, seq: l.entry.seq, line: l.line });

  let maxSeq = 0;
  const bySeq = new Map<number, Located[]>();
  for (const l of located) {
    const { entry } = l;
    if (entryHash(entry) !== entry.hash)
      issues.push({
        kind: 'hash-mismatch',
        ...at(l),
        reason: `entry ${entry.seq} does not hash to its recorded hash: its content was edited or its hash forged`,
      });
    const pii =
      findPhoneLike(entry.actor, 'actor') ??
      findPhoneLike(entry.subject, 'subject') ??
      findPhoneLike(entry.details, 'details');
    if (pii !== undefined)
      issues.push({ kind: 'personal-data', ...at(l), reason: `entry ${entry.seq} holds phone-like content (${pii})` });
    const seen = bySeq.get(entry.seq);
    if (seen) {
      seen.push(l);
    } else {
      bySeq.set(entry.seq, [l]);
      if (entry.seq < maxSeq)
        issues.push({
          kind: 'out-of-order',
          ...at(l),
          reason: `entry ${entry.seq} appears after entry ${maxSeq}: entries were reordered`,
        });
    }
    maxSeq = Math.max(maxSeq, entry.seq);
  }

  let gap: number[] = [];
  const flushGap = () => {
    if (gap.length)
      issues.push({
        kind: 'missing',
        chain,
        seq: gap[0],
        reason: `${describe(gap)} missing before entry ${(gap.at(-1) ?? 0) + 1}: dropped`,
      });
    gap = [];
  };
  for (let seq = 1; seq <= maxSeq; seq++) {
    const candidates = bySeq.get(seq);
    if (!candidates) {
      gap.push(seq);
      continue;
    }
    flushGap();
    const keep = chosen(bySeq, seq);
    for (const c of candidates)
      if (c !== keep)
        issues.push({
          kind: 'duplicate',
          ...at(c),
          reason: `a second entry claims seq ${seq}${keep ? ` (the chain continues from line ${keep.line})` : ''}: inserted`,
        });
    if (!keep) continue;
    if (seq === 1) {
      if (keep.entry.prevHash !== GENESIS_HASH)
        issues.push({ kind: 'genesis-mismatch', ...at(keep), reason: 'entry 1 does not link to the genesis hash' });
      continue;
    }
    const prev = chosen(bySeq, seq - 1);
    if (prev && keep.entry.prevHash !== prev.entry.hash)
      issues.push({
        kind: 'broken-link',
        ...at(keep),
        reason: `entry ${seq} does not link to entry ${seq - 1}'s hash: entry ${seq - 1} was rewritten (hash recomputed) or entry ${seq} replaced`,
      });
  }
  flushGap();

  for (const head of expected) {
    if (maxSeq === 0) {
      if (head.seq > 0)
        issues.push({ kind: 'missing-chain', chain, seq: head.seq, reason: `cited at seq ${head.seq}, absent here` });
    } else if (maxSeq < head.seq) {
      issues.push({
        kind: 'truncated',
        chain,
        seq: maxSeq + 1,
        reason: `ends at entry ${maxSeq} but is cited up to entry ${head.seq}: its tail was cut off`,
      });
    } else if (head.seq > 0 && chosen(bySeq, head.seq)?.entry.hash !== head.hash) {
      issues.push({
        kind: 'head-mismatch',
        chain,
        seq: head.seq,
        reason: `entry ${head.seq} differs from the one cited (hash ${head.hash.slice(0, 12)}…)`,
      });
    }
  }

  issues.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const last = chosen(bySeq, maxSeq);
  return {
    chain,
    entries: located.length,
    head: last ? { chain, seq: last.entry.seq, hash: last.entry.hash } : undefined,
    ok: issues.length === 0,
    issues,
  };
}

/** Verifies records in storage order: each chain separately, and against any cited heads. */
export function verifyAuditRecords(records: Iterable<AuditRecord>, options: AuditVerifyOptions = {}): AuditReport {
  const malformed: AuditIssue[] = [];
  const chains = new Map<string, Located[]>();
  let count = 0;
  for (const record of records) {
    const line = record.line ?? count + 1;
    count++;
    const problem = record.notJson ? 'not JSON' : entryShapeProblem(record.value);
    if (problem !== undefined) {
      const v = isJsonObject(record.value) ? record.value : {};
      malformed.push({
        kind: 'malformed',
        ...(typeof v.chain === 'string' ? { chain: v.chain } : {}),
        ...(typeof v.seq === 'number' ? { seq: v.seq } : {}),
        line,
        reason: `not an audit entry: ${problem}`,
      });
      continue;
    }
    const entry = record.value as AuditEntry;
    const list = chains.get(entry.chain) ?? [];
    list.push({ entry, line });
    chains.set(entry.chain, list);
  }
  const expected = options.expectedHeads ?? [];
  for (const head of expected) if (!chains.has(head.chain)) chains.set(head.chain, []);
  const reports = [...chains.keys()].sort().map((chain) =>
    verifyChain(
      chain,
      chains.get(chain) ?? [],
      expected.filter((h) => h.chain === chain),
    ),
  );
  const issues = [...reports.flatMap((r) => r.issues), ...malformed];
  return { ok: issues.length === 0, records: count, chains: reports, issues };
}

/** Splits JSONL into records with their line numbers; blank lines are skipped, unparseable ones kept as such. */
export function parseAuditJsonl(text: string): AuditRecord[] {
  const records: AuditRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      records.push({ value: JSON.parse(raw), line: i + 1 });
    } catch {
      records.push({ value: undefined, line: i + 1, notJson: true });
    }
  });
  return records;
}

export function verifyAuditJsonl(text: string, options: AuditVerifyOptions = {}): AuditReport {
  return verifyAuditRecords(parseAuditJsonl(text), options);
}
