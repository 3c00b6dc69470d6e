import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditChain } from './audit-chain.ts';
import { entryHash, headOf, type AuditEntry } from './audit-entry.ts';
import { verifyAuditJsonl, type AuditIssue, type AuditReport } from './audit-verify.ts';
import { MemoryAuditStore } from './memory-audit-store.ts';

/** Six operator entries interleaved with two gateway entries, as one file would hold them. */
async function sampleLog(): Promise<AuditEntry[]> {
  const store = new MemoryAuditStore();
  let t = Date.parse('2025-03-03T01:00:00Z');
  const now = () => new Date((t += 1000));
  const operator = await AuditChain.open(store, 'operator', { now });
  const gateway = await AuditChain.open(store, 'gateway-0', { now });
  for (let i = 1; i <= 6; i++) {
    await operator.append({
      actor: 'system:operator',
      action: 'campaign-transition',
      subject: 'ns.p',
      details: { from: `s${i - 1}`, to: `s${i}` },
    });
    if (i % 3 === 0)
      await gateway.append({
        actor: 'staff:u-7',
        action: 'admin-read',
        subject: 'ns.p',
        details: { resource: 'status' },
      });
  }
  return store.entries;
}

const jsonl = (entries: unknown[]) => entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
const op = (entries: AuditEntry[], seq: number) => entries.findIndex((e) => e.chain === 'operator' && e.seq === seq);
const issues = (r: AuditReport) => r.issues.map((i: AuditIssue) => [i.kind, i.chain, i.seq]);

function rehash(entry: AuditEntry): AuditEntry {
  return { ...entry, hash: entryHash(entry) };
}

test('an untouched log verifies, chain by chain, with the heads a certificate would cite', async () => {
  const log = await sampleLog();
  const report = verifyAuditJsonl(jsonl(log));
  assert.equal(report.ok, true);
  assert.equal(report.records, 8);
  assert.deepEqual(
    report.chains.map((c) => [c.chain, c.entries, c.head?.seq]),
    [
      ['gateway-0', 2, 2],
      ['operator', 6, 6],
    ],
  );
  assert.equal(report.chains[1]!.head?.hash, log[op(log, 6)]!.hash);
});

test('an edited entry is named by its seq and line', async () => {
  const log = await sampleLog();
  const i = op(log, 3);
  log[i] = { ...log[i]!, details: { from: 's2', to: 'Completed' } };
  const report = verifyAuditJsonl(jsonl(log));
  assert.equal(report.ok, false);
  assert.deepEqual(issues(report), [['hash-mismatch', 'operator', 3]]);
  assert.equal(report.issues[0]!.line, i + 1);
});

test('a dropped entry shows as missing at its seq', async () => {
  const log = await sampleLog();
  log.splice(op(log, 4), 1);
  assert.deepEqual(issues(verifyAuditJsonl(jsonl(log))), [['missing', 'operator', 4]]);
  const fromStart = await sampleLog();
  fromStart.splice(op(fromStart, 1), 1);
  assert.deepEqual(issues(verifyAuditJsonl(jsonl(fromStart))), [['missing', 'operator', 1]]);
});

test('an inserted entry is found even when it hashes and links correctly', async () => {
  const log = await sampleLog();
  const third = log[op(log, 3)]!;
  const forged = rehash({ ...third, seq: 4, prevHash: third.hash, details: { from: 's3', to: 'Deleted' } });
  log.splice(op(log, 3) + 1, 0, forged);
  const report = verifyAuditJsonl(jsonl(log));
  assert.deepEqual(issues(report), [['duplicate', 'operator', 4]]);
  assert.equal(report.issues[0]!.line, op(log, 3) + 2, 'the inserted line, not the original');
});

test('reordered entries are reported where the order breaks', async () => {
  const log = await sampleLog();
  const [a, b] = [op(log, 2), op(log, 3)];
  [log[a], log[b]] = [log[b]!, log[a]!];
  assert.deepEqual(issues(verifyAuditJsonl(jsonl(log))), [['out-of-order', 'operator', 2]]);
});

test('a cut-off tail is invisible alone but caught against the head a certificate cites', async () => {
  const log = await sampleLog();
  const cited = headOf(log[op(log, 6)]!);
  log.splice(op(log, 5));
  assert.equal(verifyAuditJsonl(jsonl(log)).ok, true);
  const report = verifyAuditJsonl(jsonl(log), { expectedHeads: [cited] });
  assert.deepEqual(issues(report), [['truncated', 'operator', 5]]);
  assert.deepEqual(
    issues(verifyAuditJsonl(jsonl(log), { expectedHeads: [{ chain: 'worker-3', seq: 9, hash: cited.hash }] })),
    [['missing-chain', 'worker-3', 9]],
  );
});

test('a forged hash is caught: a random one at its entry, a recomputed one at the next link', async () => {
  const random = await sampleLog();
  random[op(random, 2)] = { ...random[op(random, 2)]!, hash: 'ab'.repeat(32) };
  assert.deepEqual(issues(verifyAuditJsonl(jsonl(random))), [
    ['hash-mismatch', 'operator', 2],
    ['broken-link', 'operator', 3],
  ]);

  const recomputed = await sampleLog();
  const i = op(recomputed, 2);
  recomputed[i] = rehash({ ...recomputed[i]!, details: { from: 's1', to: 'Completed' } });
  assert.deepEqual(issues(verifyAuditJsonl(jsonl(recomputed))), [['broken-link', 'operator', 3]]);

  const last = await sampleLog();
  const j = op(last, 6);
  const cited = headOf(last[j]!);
  last[j] = rehash({ ...last[j]!, details: { from: 's5', to: 'Completed' } });
  assert.deepEqual(issues(verifyAuditJsonl(jsonl(last), { expectedHeads: [cited] })), [
    ['head-mismatch', 'operator', 6],
  ]);
});

test('lines that are not entries and phone numbers written into entries are reported', async () => {
  const log: unknown[] = await sampleLog();
  const entry = log[0] as AuditEntry;
  log[0] = rehash({ ...entry, details: { ...entry.details, note: '010-2345-6789' } });
  log.splice(2, 0, { chain: 'operator', seq: 'x' });
  const text = jsonl(log).replace(/\n$/, '\n{"chain": "operator", \n');
  const report = verifyAuditJsonl(text);
  assert.deepEqual(issues(report), [
    ['personal-data', 'operator', 1],
    ['broken-link', 'operator', 2],
    ['malformed', 'operator', undefined],
    ['malformed', undefined, undefined],
  ]);
  assert.deepEqual(
    report.issues.filter((i) => i.kind === 'malformed').map((i) => i.line),
    [3, 10],
  );
  assert.doesNotMatch(JSON.stringify(report), /2345|6789/);
});
