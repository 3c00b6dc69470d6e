import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AuditChain, AuditChainError } from './audit-chain.ts';
import { entryHash, GENESIS_HASH, type AuditEntry } from './audit-entry.ts';
import { FileAuditStore } from './file-audit-store.ts';
import { MemoryAuditStore } from './memory-audit-store.ts';
import { PersonalDataError } from './personal-data.ts';
import { verifyAuditJsonl } from './audit-verify.ts';

const dir = await mkdtemp(join(tmpdir(), 'anshim-audit-'));
after(() => rm(dir, { recursive: true, force: true }));

const clock = (start = Date.parse('2025-03-03T01:00:00Z')) => {
  let t = start;
  return () => new Date((t += 1000));
};

test('appends link each entry to the previous hash, in call order even when calls overlap', async () => {
  const store = new MemoryAuditStore();
  const chain = await AuditChain.open(store, 'operator', { now: clock() });
  assert.deepEqual(chain.head, { chain: 'operator', seq: 0, hash: GENESIS_HASH });
  const appended = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      chain.append({
        actor: 'system:operator',
        action: 'decrypt-batch',
        subject: 'ns.promo',
        details: { opened: i, failed: 0 },
      }),
    ),
  );
  assert.deepEqual(
    store.entries.map((e) => [e.seq, e.details.opened]),
    [0, 1, 2, 3, 4].map((i) => [i + 1, i]),
  );
  assert.equal(store.entries[0]!.prevHash, GENESIS_HASH);
  for (let i = 1; i < 5; i++) assert.equal(store.entries[i]!.prevHash, store.entries[i - 1]!.hash);
  for (const e of store.entries) assert.equal(entryHash(e), e.hash);
  assert.deepEqual(chain.head, { chain: 'operator', seq: 5, hash: appended[4]!.hash });
});

test('phone-like details, actors and subjects are refused with a typed error and cost no seq', async () => {
  const store = new MemoryAuditStore();
  const chain = await AuditChain.open(store, 'gateway-0', { now: clock() });
  const refused = [
    { actor: 'staff:u-1', action: 'admin-read', subject: 'ns.promo', details: { resource: 'status 010-1234-5678' } },
    { actor: 'staff:u-1', action: 'admin-read', subject: 'ns.promo', details: { resource: 'r', records: 1012345678 } },
    { actor: '+82 10 1234 5678', action: 'admin-read', subject: 'ns.promo', details: { resource: 'r' } },
    { actor: 'staff:u-1', action: 'admin-read', subject: 'ns.promo', details: { resource: 'r', ['01012345678']: 1 } },
  ] as const;
  for (const event of refused) {
    await assert.rejects(chain.append(event as never), (e: unknown) => {
      assert.ok(e instanceof PersonalDataError);
      assert.doesNotMatch(e.message, /1234|5678/, 'the error never repeats the number');
      return true;
    });
  }
  await assert.rejects(
    chain.append({ actor: 'a', action: 'export-all' as 'upload', subject: 's', details: {} as never }),
    (e: unknown) => e instanceof AuditChainError && e.reason === 'invalid-event',
  );
  const ok = await chain.append({
    actor: 'staff:u-1',
    action: 'admin-read',
    subject: 'ns.promo',
    details: { resource: 'status' },
  });
  assert.equal(ok.seq, 1);
  assert.equal(store.entries.length, 1);
});

test('a failed store write breaks the chain until it is reopened from storage', async () => {
  const store = new MemoryAuditStore();
  const chain = await AuditChain.open(store, 'worker-1', { now: clock() });
  const event = {
    actor: 'system:worker-1',
    action: 'decrypt-batch',
    subject: 'ns.p',
    details: { opened: 1, failed: 0 },
  } as const;
  await chain.append(event);
  store.failNextAppend = true;
  await assert.rejects(
    chain.append(event),
    (e: unknown) => e instanceof AuditChainError && e.reason === 'chain-broken',
  );
  await assert.rejects(
    chain.append(event),
    (e: unknown) => e instanceof AuditChainError && e.reason === 'chain-broken',
  );
  const reopened = await AuditChain.open(store, 'worker-1', { now: clock() });
  assert.equal((await reopened.append(event)).seq, 2);
});

test('the file chain resumes after a restart and the file verifies end to end', async () => {
  const path = join(dir, 'resume', 'audit.jsonl');
  const first = await FileAuditStore.open(path);
  const operator = await AuditChain.open(first, 'operator', { now: clock() });
  const gateway = await AuditChain.open(first, 'gateway-0', { now: clock() });
  await operator.append({
    actor: 'system:operator',
    action: 'campaign-transition',
    subject: 'ns.p',
    details: { from: 'Pending', to: 'Running' },
  });
  await gateway.append({
    actor: 'staff:u-7',
    action: 'upload',
    subject: 'ns.p',
    details: { sender: 'emart', rows: 1200, bytes: 40960 },
  });
  const before = await operator.append({
    actor: 'system:operator',
    action: 'key-destroyed',
    subject: 'ns.p',
    details: { keyIds: ['ns.p-0011'] },
  });
  await first.close();

  const second = await FileAuditStore.open(path);
  const resumed = await AuditChain.open(second, 'operator', { now: clock(Date.parse('2025-03-04T00:00:00Z')) });
  assert.deepEqual(resumed.head, { chain: 'operator', seq: 2, hash: before.hash });
  const next = await resumed.append({
    actor: 'system:operator',
    action: 'topics-deleted',
    subject: 'ns.p',
    details: { topics: ['anshim.campaign.ns.p.bulk'] },
  });
  assert.equal(next.seq, 3);
  assert.equal(next.prevHash, before.hash);
  assert.equal((await AuditChain.open(second, 'gateway-0')).head.seq, 1);
  await second.close();

  const report = verifyAuditJsonl(await readFile(path, 'utf8'));
  assert.equal(report.ok, true, JSON.stringify(report.issues));
  assert.deepEqual(
    report.chains.map((c) => [c.chain, c.entries]),
    [
      ['gateway-0', 1],
      ['operator', 3],
    ],
  );
});

test('a torn last line (crash mid-append) is cut off on open; a whole one only gains its newline', async () => {
  const path = join(dir, 'torn.jsonl');
  const store = await FileAuditStore.open(path);
  const chain = await AuditChain.open(store, 'operator', { now: clock() });
  const event = {
    actor: 'system:operator',
    action: 'admin-read',
    subject: 'ns.p',
    details: { resource: 'status' },
  } as const;
  await chain.append(event);
  const second = await chain.append(event);
  await store.close();
  const whole = await readFile(path, 'utf8');

  await appendFile(path, whole.split('\n')[1]!.slice(0, 40));
  const repaired = await FileAuditStore.open(path);
  assert.equal(repaired.repairedTornBytes, 40);
  assert.equal((await AuditChain.open(repaired, 'operator')).head.hash, second.hash);
  await repaired.close();
  assert.equal(await readFile(path, 'utf8'), whole);

  await writeFile(path, whole.slice(0, -1));
  const unterminated = await FileAuditStore.open(path);
  assert.equal(unterminated.repairedTornBytes, 0);
  await unterminated.close();
  assert.equal(await readFile(path, 'utf8'), whole);
});

test('resuming refuses a stored tail that does not match its hash', async () => {
  const store = new MemoryAuditStore();
  const chain = await AuditChain.open(store, 'operator', { now: clock() });
  await chain.append({
    actor: 'system:operator',
    action: 'admin-read',
    subject: 'ns.p',
    details: { resource: 'status' },
  });
  (store.entries[0] as AuditEntry).subject = 'ns.other';
  await assert.rejects(
    AuditChain.open(store, 'operator'),
    (e: unknown) => e instanceof AuditChainError && e.reason === 'tail-corrupt',
  );
});

test('the tail of a chain is found behind many entries of other chains', async () => {
  const path = join(dir, 'shared.jsonl');
  const store = await FileAuditStore.open(path);
  const early = await AuditChain.open(store, 'worker-9', { now: clock() });
  const mark = await early.append({
    actor: 'system:worker-9',
    action: 'decrypt-batch',
    subject: 'ns.p',
    details: { opened: 500, failed: 0 },
  });
  const busy = await AuditChain.open(store, 'operator', { now: clock() });
  // ~400 bytes a line × 400 lines: the tail of worker-9 sits several 64 KiB chunks back.
  const padding = 'x'.repeat(250);
  for (let i = 0; i < 400; i++)
    await busy.append({
      actor: 'system:operator',
      action: 'admin-read',
      subject: 'ns.p',
      details: { resource: padding },
    });
  assert.equal((await store.tail('worker-9'))?.hash, mark.hash);
  assert.equal(await store.tail('nobody'), undefined);
  await store.close();
});
