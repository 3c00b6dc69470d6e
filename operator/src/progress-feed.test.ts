// The progress feed's start-up, against a Kafka client stand-in (unit test): it keeps trying while
// Kafka is unreachable, and says it is ready only once it has read as far as the topic reached.
// operator.integration.test.ts and e2e.integration.test.ts run it against the real Kafka.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { encodeProgress, progressKey, type CampaignProgress } from '@anshim/api';
import { createLogger } from '@anshim/core';
import { ProgressFeed } from './progress-feed.ts';

type EachMessage = (p: { partition: number; message: { key: Buffer; value: Buffer; offset: string } }) => Promise<void>;

function kafkaStandIn(failConnects: number) {
  const state = { connects: 0, eachMessage: undefined as EachMessage | undefined, disconnected: 0 };
  const kafka = {
    admin: () => ({
      connect: async () => {
        if (state.connects++ < failConnects) throw new Error('KafkaJSConnectionError: ECONNREFUSED');
      },
      disconnect: async () => undefined,
      // Partition 0 holds offsets 0..1; partition 1 is empty.
      fetchTopicOffsets: async () => [
        { partition: 0, low: '0', high: '2', offset: '2' },
        { partition: 1, low: '0', high: '0', offset: '0' },
      ],
    }),
    consumer: () => ({
      connect: async () => undefined,
      subscribe: async () => undefined,
      run: async ({ eachMessage }: { eachMessage: EachMessage }) => void (state.eachMessage = eachMessage),
      disconnect: async () => void state.disconnected++,
    }),
  };
  return { kafka: kafka as unknown as Kafka, state };
}

const progress = (workerId: string, delivered: number): CampaignProgress => ({
  campaignId: 'shop.weekend',
  workerId,
  sent: delivered,
  duplicates: 0,
  results: { DELIVERED: delivered },
  fellBack: 0,
  deadLettered: {},
  held: 0,
  updatedAt: 1,
});
const record = (p: CampaignProgress, offset: number) => ({
  partition: 0,
  message: { key: Buffer.from(progressKey(p)), value: Buffer.from(encodeProgress(p)), offset: String(offset) },
});

test('Kafka unreachable at start: the feed keeps trying, then reads, and is ready once caught up', async () => {
  const { kafka, state } = kafkaStandIn(2);
  const errors: string[] = [];
  const feed = new ProgressFeed(kafka, createLogger('feed-test', { level: 'silent' }));
  let prepared = 0;
  void feed.startInBackground(
    (err) => errors.push(err.message),
    async () => void prepared++,
    1,
  );
  while (!state.eachMessage) await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 2, 'two refused attempts, reported, then a third that runs');
  assert.equal(prepared, 3, 'the preparation (data-plane topics) ran before each attempt');
  assert.equal(feed.ready, false, 'nothing read yet');
  await state.eachMessage(record(progress('w-0', 10), 0));
  assert.equal(feed.ready, false, 'offset 0 of 0..1: a prefix only');
  await state.eachMessage(record(progress('w-1', 5), 1));
  assert.equal(feed.ready, true, 'read up to where the topic stood');
  assert.equal(feed.counts('shop.weekend', 15).delivered, 15);
  await feed.stop();
});

test('stopped while still trying: no consumer is left running', async () => {
  const { kafka, state } = kafkaStandIn(Infinity);
  const feed = new ProgressFeed(kafka, createLogger('feed-test', { level: 'silent' }));
  let attempts = 0;
  const trying = feed.startInBackground(() => attempts++, undefined, 1);
  while (attempts < 2) await new Promise((r) => setImmediate(r));
  await feed.stop();
  const after = state.connects;
  await trying;
  assert.ok(state.connects <= after + 1, 'at most the attempt under way when stopped, then none');
  assert.equal(state.eachMessage, undefined);
});
