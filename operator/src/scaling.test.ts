import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideReplicas, type ScalingPolicy } from './scaling.ts';

const policy: ScalingPolicy = {
  minReplicas: 0,
  maxReplicas: 8,
  lagPerReplica: 1000,
  messagesPerReplica: 500,
  cooldownMs: 60_000,
};
const base = { partitions: 6, rateLimit: 5000, currentReplicas: 0, now: 1_000_000 };

test('lag is divided by the per-replica target and rounded up', () => {
  assert.equal(decideReplicas(policy, { ...base, lag: 1 }).replicas, 1);
  assert.equal(decideReplicas(policy, { ...base, lag: 2500 }).replicas, 3);
});

test('never more replicas than partitions, the maximum, or the rate limit needs', () => {
  assert.equal(decideReplicas(policy, { ...base, lag: 1_000_000 }).replicas, 6, 'partitions');
  assert.equal(decideReplicas({ ...policy, maxReplicas: 4 }, { ...base, lag: 1_000_000 }).replicas, 4, 'max');
  assert.equal(decideReplicas(policy, { ...base, lag: 1_000_000, rateLimit: 900 }).replicas, 2, 'rate 900 / 500');
});

test('the minimum holds when idle (transactional traffic keeps a warm replica)', () => {
  const d = decideReplicas({ ...policy, minReplicas: 1 }, { ...base, lag: 0, currentReplicas: 1 });
  assert.equal(d.replicas, 1);
  assert.equal(d.active, false);
});

test('scale up is immediate; scale down waits a stabilisation window', () => {
  const up = decideReplicas(policy, { ...base, lag: 5000, currentReplicas: 1, lastScaleAt: base.now - 1000 });
  assert.equal(up.replicas, 5);
  const held = decideReplicas(policy, {
    ...base,
    lag: 1500,
    currentReplicas: 5,
    lastActiveAt: base.now,
    lastScaleAt: base.now - 10_000,
  });
  assert.equal(held.replicas, 5);
  assert.match(held.reason, /stabilisation/);
  const down = decideReplicas(policy, {
    ...base,
    lag: 1500,
    currentReplicas: 5,
    lastActiveAt: base.now,
    lastScaleAt: base.now - 61_000,
  });
  assert.equal(down.replicas, 2);
});

test('scale to zero only after the cool-down since lag was last seen', () => {
  const idle = { ...base, lag: 0, currentReplicas: 3, lastScaleAt: base.now - 120_000 };
  const early = decideReplicas(policy, { ...idle, lastActiveAt: base.now - 30_000 });
  assert.equal(early.replicas, 1, 'steps down to one while cooling');
  assert.match(early.reason, /cool-down/);
  assert.equal(decideReplicas(policy, { ...idle, lastActiveAt: base.now - 61_000 }).replicas, 0);
  assert.equal(decideReplicas(policy, { ...idle, lastActiveAt: undefined }).replicas, 0, 'never active');
});
