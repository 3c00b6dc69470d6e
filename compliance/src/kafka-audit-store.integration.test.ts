// Against the local stack's real Kafka (`npm test -- compliance` brings it up).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaAccess } from '@anshim/dev-platform';
import { AuditChain, AuditChainError } from './audit-chain.ts';
import { verifyAuditRecords } from './audit-verify.ts';
import { ensureAuditTopic, KafkaAuditStore } from './kafka-audit-store.ts';

const kafka = new Kafka({
  clientId: 'compliance-test',
  ...kafkaAccess(),
  logLevel: logLevel.NOTHING,
});
const chainId = `operator-it-${Date.now().toString(36)}`;
const stores: KafkaAuditStore[] = [];
const connect = async () => {
  const store = await KafkaAuditStore.connect(kafka, { readTimeoutMs: 30_000 });
  stores.push(store);
  return store;
};
const transition = (to: string) =>
  ({ actor: 'system:operator', action: 'campaign-transition', subject: 'ns.p', details: { from: 'x', to } }) as const;

before(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureAuditTopic(admin);
  await ensureAuditTopic(admin); // idempotent
  await admin.disconnect();
});
after(() => Promise.all(stores.map((s) => s.close())));

test('a chain on Kafka resumes from its committed tail, fences its old writer, and verifies', async () => {
  const first = await connect();
  const writer = await AuditChain.open(first, chainId);
  assert.equal(writer.head.seq, 0, 'a new chain starts at genesis');
  // Another chain on the topic, interleaved: the tail must be this chain's, not the last record.
  const neighbour = await AuditChain.open(first, `${chainId}-neighbour`);
  for (const to of ['Provisioning', 'Running', 'Completed']) {
    await writer.append(transition(to));
    await neighbour.append(transition(to));
  }
  const cited = writer.head;
  assert.equal(cited.seq, 3);

  // A restarted writer (another process) resumes at seq 3; the old one is fenced.
  const second = await connect();
  const resumed = await AuditChain.open(second, chainId);
  assert.deepEqual(resumed.head, cited);
  await assert.rejects(
    writer.append(transition('Zombie')),
    (e: unknown) => e instanceof AuditChainError && e.reason === 'chain-broken',
  );
  const next = await resumed.append(transition('Destroyed'));
  assert.equal(next.seq, 4);
  assert.equal(next.prevHash, cited.hash);

  // A commit becomes readable (read_committed) once its marker lands, a moment after commit returns.
  let entries = await second.readChain(chainId);
  for (let i = 0; entries.length < 4 && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    entries = await second.readChain(chainId);
  }
  assert.deepEqual(
    entries.map((e) => e.details.to),
    ['Provisioning', 'Running', 'Completed', 'Destroyed'],
  );
  const report = verifyAuditRecords(
    entries.map((value) => ({ value })),
    { expectedHeads: [resumed.head] },
  );
  assert.equal(report.ok, true, JSON.stringify(report.issues));
  assert.equal(second.partitionOf(chainId), first.partitionOf(chainId));
});
