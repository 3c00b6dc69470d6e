// Each reconcile step as a table: the campaign and what was observed, in; actions, status and
// conditions, out. No API server and no Kafka: the steps are pure (the integration tests drive
// the same steps through the real ones).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FINALIZER } from '@anshim/api';
import { scalingPolicyOf } from '../fleet.ts';
import { workerFileFor } from '../workers.ts';
import { finalize } from './finalize.ts';
import { advancePhase } from './progress.ts';
import { provisionKey, provisionTopics, requireFleet, topicPlanFor } from './provision.ts';
import { bindPurpose } from './purpose.ts';
import { retention } from './retention.ts';
import { scaleWorkers, settleWorkers } from './scale.ts';
import type { Action } from './step.ts';
import { campaign, fleet } from './test-fixtures.ts';

const kinds = (actions: Action[] | undefined): string[] => (actions ?? []).map((a) => a.kind);

test('finalize: the finalizer goes on first, and comes off only once the data is destroyed', () => {
  const cases = [
    { name: 'new campaign', mc: campaign({ metadata: { finalizers: [] } }), want: ['set-finalizers'], add: true },
    { name: 'live campaign', mc: campaign(), want: undefined },
    {
      name: 'deleted',
      mc: campaign({ metadata: { deletionTimestamp: '2026-12-01T00:00:00Z' as unknown as Date } }),
      want: ['destroy-data', 'set-finalizers'],
    },
    {
      name: 'deleted, already released',
      mc: campaign({ metadata: { deletionTimestamp: '2026-12-01T00:00:00Z' as unknown as Date, finalizers: [] } }),
      want: [],
    },
    { name: 'destroyed by retention', mc: campaign({ status: { phase: 'Destroyed' } }), want: ['set-finalizers'] },
    {
      name: 'destroyed, released',
      mc: campaign({ status: { phase: 'Destroyed' }, metadata: { finalizers: ['other'] } }),
      want: [],
    },
  ];
  for (const c of cases) {
    const step = finalize(c.mc);
    assert.deepEqual(step && kinds(step.actions), c.want, c.name);
    const set = step?.actions?.find((a) => a.kind === 'set-finalizers');
    if (set?.kind === 'set-finalizers') assert.equal(set.finalizers.includes(FINALIZER), Boolean(c.add), c.name);
  }
  const deleted = finalize(campaign({ metadata: { deletionTimestamp: new Date(), finalizers: ['x', FINALIZER] } }));
  assert.deepEqual(deleted?.actions?.[1], { kind: 'set-finalizers', finalizers: ['x'] }, 'other finalizers stay');
});

test('bind purpose: a dataset collected for another purpose fails the campaign for good', () => {
  const mc = campaign({ spec: { purpose: 'advertising' } });
  const cases = [
    { collectedFor: undefined, reason: 'AwaitingDataset', fatal: undefined },
    { collectedFor: 'advertising', reason: 'PurposeMatches', fatal: undefined },
    { collectedFor: 'transactional', reason: 'PurposeMismatch', fatal: true },
  ];
  for (const c of cases) {
    const step = bindPurpose(mc, c.collectedFor);
    assert.equal(step.failure?.fatal, c.fatal, String(c.collectedFor));
    assert.equal(step.failure?.reason ?? step.conditions?.[0]?.reason, c.reason);
  }
  assert.match(bindPurpose(mc, 'transactional').failure!.message, /collected for transactional.*advertising/);
});

test('provision: a missing fleet is a retried failure naming the fleet', () => {
  const step = requireFleet(campaign({ spec: { fleet: 'night' } }), undefined);
  assert.deepEqual(
    { ...step.failure, message: undefined },
    { condition: 'WorkersReady', reason: 'FleetNotFound', message: undefined, fatal: false },
  );
  assert.match(step.failure!.message, /"night" in namespace mart/);
  assert.deepEqual(requireFleet(campaign(), fleet), {});
});

test('provision topics: create what is missing, grow what the rate outgrew, record the names', () => {
  const ad = campaign({ spec: { purpose: 'advertising', rateLimit: { messagesPerSecond: 2000 } } });
  const plan = topicPlanFor(ad, fleet, {});
  assert.equal(plan.partitions, 4);
  const cases = [
    {
      name: 'nothing yet',
      existing: new Map<string, number>(),
      want: [{ kind: 'create-topics', topics: [plan.topic, plan.holdTopic], partitions: [4, 3] }],
      reason: 'TopicCreated',
    },
    {
      name: 'campaign topic there, hold missing',
      existing: new Map([[plan.topic, 4]]),
      want: [{ kind: 'create-topics', topics: [plan.holdTopic], partitions: [3] }],
      reason: 'TopicAdopted',
    },
    {
      name: 'rate raised since',
      existing: new Map([
        [plan.topic, 2],
        [plan.holdTopic!, 3],
      ]),
      want: [{ kind: 'add-partitions', topic: plan.topic, count: 4 }],
      reason: 'TopicAdopted',
    },
    {
      name: 'more partitions than planned: never shrunk',
      existing: new Map([
        [plan.topic, 12],
        [plan.holdTopic!, 3],
      ]),
      want: [],
      reason: 'TopicAdopted',
    },
  ];
  for (const c of cases) {
    const step = provisionTopics(plan, c.existing);
    const got = (step.actions ?? []).map((a) =>
      a.kind === 'create-topics'
        ? { kind: a.kind, topics: a.topics.map((t) => t.topic), partitions: a.topics.map((t) => t.numPartitions) }
        : a,
    );
    assert.deepEqual(got, c.want, c.name);
    assert.equal(step.conditions?.[0]?.reason, c.reason, c.name);
    assert.deepEqual(step.status?.topics, { campaign: plan.topic, hold: plan.holdTopic }, c.name);
  }
  assert.match(provisionTopics(plan, new Map([[plan.topic, 12]])).conditions![0]!.message, /12 partitions/);
  const recorded = topicPlanFor(ad, fleet, { topics: { campaign: 'anshim.campaign.old', hold: 'anshim.hold.old' } });
  assert.deepEqual([recorded.topic, recorded.holdTopic], ['anshim.campaign.old', 'anshim.hold.old']);
});

test('provision key: a destroyed key fails the campaign for good; a present one is recorded', () => {
  assert.deepEqual(provisionKey({ kind: 'ready', keyId: 'dek-1' }), { status: { keyId: 'dek-1' } });
  const gone = provisionKey({ kind: 'destroyed' });
  assert.equal(gone.failure?.fatal, true);
  assert.equal(gone.failure?.reason, 'DataKeyDestroyed');
});

test('scale: schedule.startAt keeps the workers at zero whatever the lag, and wakes the reconciler at the start', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  const policy = scalingPolicyOf(fleet, 'bulk');
  const file = workerFileFor(campaign(), fleet, { campaign: 't' }, [], { id: 'kek', file: '/etc/anshim/kek/kek' });
  const at = (startAt: string) => {
    const mc = campaign();
    mc.spec.schedule = { startAt };
    return scaleWorkers(mc, {
      fleet,
      policy,
      file,
      now,
      held: 0,
      lag: { lag: 2500, produced: 2500, partitions: 4 },
      deployment: { replicas: 2, readyReplicas: 2 },
    });
  };
  const early = at('2026-12-03T10:30:00Z');
  assert.equal(early.status?.workers?.replicas, 0);
  assert.equal(early.requeueAfterMs, 30 * 60_000);
  assert.equal(early.conditions?.[0]?.reason, 'WaitingForStartAt');
  const applied = early.actions?.find((a) => a.kind === 'apply-workers');
  assert.equal(applied?.kind === 'apply-workers' && applied.deployment.spec?.replicas, 0);
  // Once it is time, the lag decides as ever.
  assert.equal(at('2026-12-03T09:59:00Z').status?.workers?.replicas, 2);
});

test('scale: replicas follow lag, a held backlog or a draining campaign keeps one awake, and status keeps the cool-down clocks', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  const policy = scalingPolicyOf(fleet, 'bulk');
  const mc = campaign();
  const file = workerFileFor(mc, fleet, { campaign: 't' }, [], { id: 'kek', file: '/etc/anshim/kek/kek' });
  const base = { fleet, policy, file, now, held: 0 };
  const cases = [
    {
      name: 'first backlog: created at the lag',
      input: { ...base, lag: { lag: 2500, produced: 2500, partitions: 4 }, deployment: undefined },
      replicas: 2,
      event: false,
      reason: 'WorkersStarting',
    },
    {
      name: 'more lag, but the rate limit allows two: steady, no event',
      input: {
        ...base,
        lag: { lag: 3500, produced: 9000, partitions: 4 },
        deployment: { replicas: 2, readyReplicas: 2 },
      },
      replicas: 2,
      event: false,
      reason: 'WorkersRunning',
    },
    {
      name: 'no lag and nothing held: zero after the cool-down',
      input: { ...base, lag: { lag: 0, produced: 9000, partitions: 4 }, deployment: { replicas: 2, readyReplicas: 2 } },
      replicas: 0,
      event: true,
      reason: 'ScaledToZero',
    },
    {
      name: 'no lag but advertising held for the night: one stays',
      input: {
        ...base,
        held: 40,
        lag: { lag: 0, produced: 9000, partitions: 4 },
        deployment: { replicas: 2, readyReplicas: 2 },
      },
      replicas: 1,
      event: true,
      reason: 'WorkersRunning',
    },
    {
      name: "no lag, draining: one stays to take the carriers' outstanding reports",
      campaign: campaign({ status: { phase: 'Draining' } }),
      input: { ...base, lag: { lag: 0, produced: 9000, partitions: 4 }, deployment: { replicas: 2, readyReplicas: 2 } },
      replicas: 1,
      event: true,
      reason: 'WorkersRunning',
    },
  ];
  for (const c of cases) {
    const step = scaleWorkers(('campaign' in c && c.campaign) || mc, c.input);
    const apply = step.actions![0]!;
    assert.equal(apply.kind, 'apply-workers', c.name);
    if (apply.kind === 'apply-workers') {
      assert.equal(apply.replicas, c.replicas, c.name);
      assert.equal(apply.deployment.spec?.replicas, c.replicas, c.name);
      assert.equal(apply.secret.metadata?.name, apply.deployment.metadata?.name, c.name);
    }
    assert.equal(kinds(step.actions).includes('event'), c.event, c.name);
    assert.equal(step.conditions?.[0]?.reason, c.reason, c.name);
    assert.equal(step.status?.workers?.replicas, c.replicas, c.name);
  }
  // The clocks: lastActiveTime moves only with lag, lastScaleTime only with a change.
  const earlier = '2026-12-03T09:00:00.000Z';
  const steady = scaleWorkers(campaign({ status: { workers: { lastActiveTime: earlier, lastScaleTime: earlier } } }), {
    ...base,
    lag: { lag: 0, produced: 1, partitions: 1 },
    deployment: { replicas: 0, readyReplicas: 0 },
  });
  assert.deepEqual([steady.status?.workers?.lastActiveTime, steady.status?.workers?.lastScaleTime], [earlier, earlier]);
  const busy = scaleWorkers(campaign({ status: { workers: { lastActiveTime: earlier, lastScaleTime: earlier } } }), {
    ...base,
    lag: { lag: 10, produced: 10, partitions: 1 },
    deployment: { replicas: 0, readyReplicas: 0 },
  });
  assert.deepEqual(
    [busy.status?.workers?.lastActiveTime, busy.status?.workers?.lastScaleTime],
    [new Date(now).toISOString(), new Date(now).toISOString()],
  );
});

test('settle: a finished campaign is scaled to zero once, with an event', () => {
  assert.deepEqual(settleWorkers(campaign(), undefined), {});
  assert.deepEqual(settleWorkers(campaign(), { replicas: 0, readyReplicas: 0 }), {});
  assert.deepEqual(kinds(settleWorkers(campaign(), { replicas: 3, readyReplicas: 3 }).actions), [
    'scale-workers',
    'event',
  ]);
});

test('progress: the phase moves on counts, and completion waits for the whole audience', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  const counts = (queued: number, final: number) => ({
    queued,
    final,
    sent: final,
    delivered: final,
    failed: 0,
    fellBack: 0,
    failedByResult: {},
    duplicates: 0,
  });
  const bulk = (size?: number) =>
    campaign({
      spec: { priorityClass: 'bulk', audience: { datasetRef: { name: 'd' }, size } },
      status: { phase: 'Draining' },
    });
  const cases = [
    { name: 'all final, size reached', mc: bulk(10), lag: 0, c: counts(10, 10), phase: 'Completed' },
    { name: 'all final, upload still going', mc: bulk(20), lag: 0, c: counts(10, 10), phase: 'Draining' },
    {
      name: 'all final, gateway recorded the upload complete',
      mc: bulk(20),
      ingestComplete: true,
      lag: 0,
      c: counts(10, 10),
      phase: 'Completed',
    },
    { name: 'lag left', mc: bulk(10), lag: 3, c: counts(10, 7), phase: 'Sending' },
    {
      name: 'an OTP campaign never completes',
      mc: campaign({ spec: { priorityClass: 'transactional' }, status: { phase: 'Sending' } }),
      lag: 0,
      c: counts(10, 10),
      phase: 'Sending',
    },
  ];
  for (const c of cases) {
    const step = advancePhase(c.mc, {
      provisioned: true,
      lag: { lag: c.lag },
      counts: c.c,
      status: c.mc.status ?? {},
      ingestComplete: 'ingestComplete' in c && c.ingestComplete === true,
      now,
    });
    assert.equal(step.status?.phase, c.phase, c.name);
    assert.equal(step.status?.observedGeneration, 2, c.name);
    assert.equal(Boolean(step.status?.completionTime), c.phase === 'Completed', c.name);
    assert.equal(step.conditions?.[0]?.reason, c.phase === 'Completed' ? 'AllMessagesFinal' : undefined, c.name);
    assert.equal(step.status?.counts && 'final' in step.status.counts, false, 'final is internal');
  }
  const failed = advancePhase(bulk(10), {
    provisioned: false,
    lag: undefined,
    counts: counts(10, 10),
    status: { phase: 'Failed' },
    ingestComplete: false,
    now,
  });
  assert.equal(failed.status?.phase, 'Failed', 'a fatal step is not undone');
  assert.equal(failed.status?.counts, undefined, 'no counts without Kafka');
  const started = advancePhase(campaign({ status: { phase: 'Provisioning' } }), {
    provisioned: true,
    lag: { lag: 5 },
    counts: counts(5, 0),
    status: { phase: 'Provisioning' },
    ingestComplete: false,
    now,
  });
  assert.equal(started.status?.startTime, new Date(now).toISOString());
});

test('retention: shred when it ends, otherwise reconcile again when it is due', () => {
  const completionTime = '2026-12-03T10:00:00.000Z';
  const at = (iso: string) => Date.parse(iso);
  const mc = campaign({ spec: { retentionAfterCompletion: '2h' } });
  const cases = [
    { name: 'sending', status: { phase: 'Sending' as const }, now: at(completionTime), want: {} },
    {
      name: 'an hour in',
      status: { phase: 'Completed' as const, completionTime },
      now: at('2026-12-03T11:00:00Z'),
      want: { requeueAfterMs: 3_600_000 },
    },
  ];
  for (const c of cases) assert.deepEqual(retention(mc, c.status, c.now), c.want, c.name);
  const due = retention(
    mc,
    { phase: 'Completed', completionTime, workers: { replicas: 2 } },
    at('2026-12-03T12:00:00Z'),
  );
  assert.deepEqual(kinds(due.actions), ['destroy-data']);
  assert.equal(due.status?.phase, 'Destroyed');
  assert.equal(due.status?.workers?.replicas, 0);
  assert.equal(due.conditions?.[0]?.type, 'DataDestroyed');
  assert.deepEqual(
    retention(campaign(), { phase: 'Completed', completionTime }, at('2026-12-04T09:59:59Z')),
    { requeueAfterMs: 1000 },
    'the default retention is 24h',
  );
});
