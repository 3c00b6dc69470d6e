// The reconciler's order of steps, against a world kept in memory (the seam in world.ts): what it
// reads, in which order it acts, and what one failure stops. operator.integration.test.ts runs
// the same reconciler against the real API server and Kafka.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FINALIZER, type CampaignStatus, type MessagingCampaign } from '@anshim/api';
import { createLogger } from '@anshim/core';
import { CampaignReconciler } from '../reconciler.ts';
import type { KeyState } from './provision.ts';
import type { DeploymentState } from './scale.ts';
import type { Action } from './step.ts';
import { campaign, fleet } from './test-fixtures.ts';
import type { CampaignWorld } from './world.ts';

class MemoryWorld implements CampaignWorld {
  purpose: string | undefined = 'transactional';
  topics = new Map<string, number>();
  key: KeyState = { kind: 'ready', keyId: 'dek-1' };
  queued = 0;
  final = 0;
  deploy: DeploymentState | undefined;
  kafkaDown = false;
  /** false: the progress feed has not read its topic yet. */
  progressRead = true;
  readonly done: Action[] = [];
  readonly patches: CampaignStatus[] = [];

  dataset = async () => (this.purpose ? { purpose: this.purpose, complete: true } : undefined);
  fleet = async () => fleet;
  topicPartitions = async (names: string[]) => {
    if (this.kafkaDown) throw new Error('KafkaJSConnectionError: Connection error: connect ECONNREFUSED 127.0.0.1:1');
    return new Map([...this.topics].filter(([t]) => names.includes(t)));
  };
  ensureKey = async () => this.key;
  wrappedKeys = async () => [Buffer.from('wrapped')];
  lag = async () => ({ lag: this.queued - this.final, produced: this.queued, partitions: 2 });
  deployment = async () => this.deploy;
  progress = (_mc: MessagingCampaign, queued: number) => (this.progressRead ? this.counts(queued) : undefined);
  counts = (queued: number) => ({
    queued,
    final: this.final,
    sent: this.final,
    delivered: this.final,
    failed: 0,
    fellBack: 0,
    failedByResult: {},
    duplicates: 0,
  });
  execute = async (_mc: MessagingCampaign, action: Action) => {
    this.done.push(action);
    if (action.kind === 'create-topics') for (const t of action.topics) this.topics.set(t.topic, t.numPartitions);
    if (action.kind === 'apply-workers') this.deploy = { replicas: action.replicas, readyReplicas: action.replicas };
    return action.kind === 'destroy-data' ? { record: 'anshim-destruction-promo' } : {};
  };
  patchStatus = async (_mc: MessagingCampaign, status: CampaignStatus) => {
    this.patches.push(structuredClone(status));
    return String(this.patches.length + 100);
  };
  kinds = () => this.done.map((a) => a.kind);
}

const log = createLogger('operator-test', { level: 'silent' });
const reconcilerOver = (world: MemoryWorld, now = () => Date.parse('2026-12-03T10:00:00Z')) =>
  new CampaignReconciler({ workerKek: { id: 'kek-1', file: '/etc/anshim/kek/kek' }, log, now }, world);

test('a new campaign gets its finalizer and nothing else in its first reconcile', async () => {
  const world = new MemoryWorld();
  await reconcilerOver(world).reconcile(campaign({ metadata: { finalizers: [] } }));
  assert.deepEqual(world.kinds(), ['set-finalizers']);
  assert.equal(world.patches.length, 0);
});

test('a live campaign: topics, then key, then workers, then one status patch with all of it', async () => {
  const world = new MemoryWorld();
  world.queued = 3000;
  const result = await reconcilerOver(world).reconcile(campaign({ status: { phase: 'Provisioning' } }));
  assert.deepEqual(world.kinds(), ['create-topics', 'apply-workers', 'event', 'audit-transition']);
  const [status] = world.patches;
  assert.equal(world.patches.length, 1);
  assert.equal(status?.phase, 'Sending');
  assert.deepEqual(status?.topics, { campaign: 'anshim.campaign.mart.promo.bulk' });
  assert.equal(status?.keyId, 'dek-1');
  assert.equal(status?.workers?.replicas, 2);
  assert.deepEqual(
    status?.conditions?.map((c) => [c.type, c.status, c.reason]),
    [
      ['PurposeBound', 'True', 'PurposeMatches'],
      ['TopicsReady', 'True', 'TopicCreated'],
      ['WorkersReady', 'False', 'WorkersStarting'],
    ],
    'the Deployment was only applied this time: none of its replicas were ready when read',
  );
  assert.equal(result.requeueAfterMs, 5000, "the fleet's poll interval");

  // Level-triggered: the same world again changes nothing more.
  const again = new MemoryWorld();
  Object.assign(again, { queued: world.queued, topics: world.topics, deploy: world.deploy });
  await reconcilerOver(again).reconcile(campaign({ status: status! }));
  assert.deepEqual(again.kinds(), ['apply-workers'], 'server-side apply only, no new topic, no event');
  assert.equal(again.patches.length, 1, 'only the workers condition moved on');
  const workers = again.patches[0]?.conditions?.find((c) => c.type === 'WorkersReady');
  assert.deepEqual([workers?.status, workers?.reason], ['True', 'WorkersRunning']);

  const third = new MemoryWorld();
  Object.assign(third, { queued: world.queued, topics: world.topics, deploy: world.deploy });
  await reconcilerOver(third).reconcile(campaign({ status: again.patches[0]! }));
  assert.equal(third.patches.length, 0, 'nothing changed: status not written');
});

test('Kafka down: the topic step fails with its reason, no workers are applied, and the reconcile retries', async () => {
  const world = new MemoryWorld();
  world.kafkaDown = true;
  const result = await reconcilerOver(world).reconcile(campaign({ status: { phase: 'Provisioning' } }));
  assert.deepEqual(world.kinds(), ['event']);
  const event = world.done[0]!;
  assert.equal(event.kind === 'event' && `${event.type}/${event.reason}`, 'Warning/KafkaUnavailable');
  const topics = world.patches[0]?.conditions?.find((c) => c.type === 'TopicsReady');
  assert.equal(topics?.status, 'False');
  assert.match(topics!.message, /ECONNREFUSED/);
  assert.equal(world.patches[0]?.phase, 'Provisioning', 'a running campaign is not sent back to Pending');
  assert.ok((result.requeueAfterMs ?? 0) >= 5000);
});

test('a destroyed key and a purpose mismatch each fail the campaign for good', async () => {
  const noKey = new MemoryWorld();
  noKey.key = { kind: 'destroyed' };
  await reconcilerOver(noKey).reconcile(campaign());
  assert.equal(noKey.patches[0]?.phase, 'Failed');
  assert.ok(!noKey.kinds().includes('apply-workers'));

  const wrongPurpose = new MemoryWorld();
  wrongPurpose.purpose = 'advertising';
  await reconcilerOver(wrongPurpose).reconcile(campaign());
  assert.equal(wrongPurpose.patches[0]?.phase, 'Failed');
  assert.deepEqual(wrongPurpose.kinds(), ['event', 'event', 'audit-transition'], 'no topic, key or worker');
});

test('retention over: data destroyed, then the status with its record, then the finalizer released', async () => {
  const world = new MemoryWorld();
  const completed = campaign({
    spec: { retentionAfterCompletion: '1h' },
    status: { phase: 'Completed', completionTime: '2026-12-03T08:00:00.000Z', workers: { replicas: 0 } },
    metadata: { resourceVersion: '7' },
  });
  const result = await reconcilerOver(world).reconcile(completed);
  assert.deepEqual(world.kinds(), ['destroy-data', 'event', 'audit-transition', 'set-finalizers']);
  assert.equal(world.patches[0]?.phase, 'Destroyed');
  assert.deepEqual(world.patches[0]?.destructionCertificateRef, { name: 'anshim-destruction-promo' });
  const release = world.done.at(-1)!;
  assert.deepEqual(release, { kind: 'set-finalizers', finalizers: [] });
  assert.ok(completed.metadata.finalizers?.includes(FINALIZER), 'the object read is not changed in place');
  assert.deepEqual(result, {});
});

test('progress not read yet (an operator just started): counts kept, nothing completes until it is', async () => {
  const world = new MemoryWorld();
  Object.assign(world, { queued: 3000, final: 3000, progressRead: false });
  const sending = campaign({
    status: {
      phase: 'Sending',
      counts: { queued: 3000, sent: 2000, delivered: 1990, failed: 10, fellBack: 0, failedByResult: { X: 10 } },
    },
  });
  const first = reconcilerOver(world);
  await first.reconcile(sending);
  const kept = world.patches.at(-1);
  assert.notEqual(kept?.phase, 'Completed', 'no completion judged on a feed that has not caught up');
  assert.equal(kept?.counts?.delivered ?? sending.status!.counts!.delivered, 1990, 'counts did not go back');
  world.progressRead = true;
  await first.reconcile(sending);
  assert.equal(world.patches.at(-1)?.phase, 'Completed', 'once read, the same world completes');
});
