import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type MessagingCampaign } from '@anshim/api';
import { withCondition } from './step.ts';
import { campaign } from './test-fixtures.ts';
import { planTopic } from '../topics.ts';

const mc = (rate: number, priorityClass?: MessagingCampaign['spec']['priorityClass']): MessagingCampaign =>
  campaign({
    metadata: { name: 'otp', namespace: 'bank' },
    spec: { rateLimit: { messagesPerSecond: rate }, priorityClass },
  });

test('topic partitions follow the rate, with a floor for transactional and alert traffic and a ceiling', () => {
  assert.equal(planTopic(mc(100), { replicationFactor: 1 }).partitions, 1);
  assert.equal(planTopic(mc(2001), { replicationFactor: 1 }).partitions, 5);
  assert.equal(planTopic(mc(100, 'alert'), { replicationFactor: 1 }).partitions, 3);
  assert.equal(planTopic(mc(10_000_000), { replicationFactor: 3 }).partitions, 48);
  assert.equal(
    planTopic(mc(100, 'transactional'), { replicationFactor: 3 }).topic,
    'anshim.campaign.bank.otp.transactional',
  );
  assert.equal(planTopic(mc(100), { replicationFactor: 3 }).configs['min.insync.replicas'], '2');
});

test('topic names recorded in status win over the naming rule', () => {
  const recorded = { campaign: 'anshim.campaign.legacy-name', hold: 'anshim.hold.legacy-name' };
  assert.equal(planTopic(mc(100), { replicationFactor: 1 }, recorded).topic, recorded.campaign);
  const ad = mc(100);
  ad.spec.purpose = 'advertising';
  assert.equal(planTopic(ad, { replicationFactor: 1 }, recorded).holdTopic, recorded.hold);
  assert.equal(
    planTopic(ad, { replicationFactor: 1 }).holdTopic,
    `anshim.hold.${ad.metadata.namespace}.${ad.metadata.name}`,
  );
});

test('a condition keeps its transition time while its status holds, and moves it on a change', () => {
  const first = withCondition([], { type: 'TopicsReady', status: 'False', reason: 'KafkaUnavailable', message: 'x' });
  const t0 = first[0]!.lastTransitionTime;
  const same = withCondition([{ ...first[0]!, lastTransitionTime: '2020-01-01T00:00:00Z' }], {
    type: 'TopicsReady',
    status: 'False',
    reason: 'KafkaUnavailable',
    message: 'y',
  });
  assert.equal(same[0]!.lastTransitionTime, '2020-01-01T00:00:00Z');
  assert.equal(same[0]!.message, 'y');
  const flipped = withCondition(same, { type: 'TopicsReady', status: 'True', reason: 'TopicCreated', message: 'z' });
  assert.notEqual(flipped[0]!.lastTransitionTime, '2020-01-01T00:00:00Z');
  assert.ok(t0 <= flipped[0]!.lastTransitionTime);
  assert.equal(flipped.length, 1);
});
