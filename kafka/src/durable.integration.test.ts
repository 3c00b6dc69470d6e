// Against the local stack's real Kafka: a topic deleted under running clients. The first test
// shows the kafkajs behaviour this package exists for; the others, the durable clients outliving it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kafkaAccess, waitFor } from '@anshim/dev-platform';
import { causedByUnknownTopic } from './unknown-topic.ts';
import { durableAdmin, durableProducer } from './recovering.ts';

// Few retries: a refused send should come back in seconds, not the default half a minute.
const kafka = new Kafka({
  clientId: 'kafka-durable-test',
  ...kafkaAccess(),
  logLevel: logLevel.NOTHING,
  retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
});
const run = `${process.pid}-${Date.now().toString(36)}`;
const topic = (name: string) => `anshim-test.durable.${run}.${name}`;
let admin: Admin;

before(async () => {
  admin = kafka.admin();
  await admin.connect();
});
after(() => admin.disconnect());

async function create(...topics: string[]): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ topic: t, numPartitions: 1 })), waitForLeaders: true });
}
async function remove(...topics: string[]): Promise<void> {
  await admin.deleteTopics({ topics, timeout: 10_000 });
}
/** Every value on a topic, read from the beginning up to its end offset. */
async function valuesOn(t: string): Promise<string[]> {
  const [end] = await admin.fetchTopicOffsets(t);
  const values: string[] = [];
  if (!end || end.high === '0') return values;
  const consumer = kafka.consumer({ groupId: `kafka-durable-test.${run}.${t}` });
  await consumer.connect();
  await consumer.subscribe({ topic: t, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value!.toString());
        if (BigInt(message.offset) + 1n >= BigInt(end.high)) resolve();
      },
    });
  });
  await consumer.disconnect();
  return values;
}

test('kafkajs alone: after one topic it used is deleted, a producer cannot send to any topic', async () => {
  const [gone, kept] = [topic('plain-gone'), topic('plain-kept')];
  await create(gone, kept);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: gone, messages: [{ value: 'a' }] });
    await remove(gone);
    const err = await producer.send({ topic: kept, messages: [{ value: 'b' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // If a kafkajs release ever fixes this, this assertion says so, and @anshim/kafka can go.
    assert.ok(err, 'kafkajs 2.2.4 refuses a send to a topic that exists');
    assert.ok(causedByUnknownTopic(err), `the refusal names the deleted topic's error: ${String(err)}`);
  } finally {
    await producer.disconnect();
    await remove(kept);
  }
});

test('a durable producer sends on after a topic it used is deleted, each record once', async () => {
  // As a gateway meets campaigns: one shredded (its topic deleted), then a new one.
  const [gone, kept, fresh] = [topic('gone'), topic('kept'), topic('fresh')];
  await create(gone, kept);
  const replaced: string[] = [];
  const producer = durableProducer(
    () => kafka.producer({ allowAutoTopicCreation: false, idempotent: true }),
    (what) => replaced.push(what),
  );
  await producer.connect();
  try {
    await producer.send({ topic: gone, messages: [{ value: 'to-gone' }] });
    await producer.send({ topic: kept, messages: [{ value: 'before' }] });
    await remove(gone);
    await create(fresh);
    // A new topic makes kafkajs refresh its metadata, which names the deleted one. Several sends
    // at once, as the gateway's coalescer makes them: one replacement serves them all.
    await Promise.all(
      ['fresh-1', 'fresh-2', 'fresh-3'].map((v) => producer.send({ topic: fresh, messages: [{ value: v }] })),
    );
    assert.deepEqual(replaced, ['producer'], 'replaced once');
    const refused = await producer.send({ topic: gone, messages: [{ value: 'x' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(causedByUnknownTopic(refused), 'a send to the deleted topic itself is refused, as it should be');
    await producer.send({ topic: kept, messages: [{ value: 'after' }] });
    assert.deepEqual((await valuesOn(fresh)).sort(), ['fresh-1', 'fresh-2', 'fresh-3']);
    assert.deepEqual((await valuesOn(kept)).sort(), ['after', 'before']);
  } finally {
    await producer.disconnect();
    await remove(kept, fresh);
  }
});

test('a durable admin reads offsets on after a topic it read is deleted by another client', async () => {
  const [gone, kept] = [topic('admin-gone'), topic('admin-kept')];
  await create(gone, kept);
  const replaced: string[] = [];
  const durable = durableAdmin(
    () => kafka.admin(),
    (what) => replaced.push(what),
  );
  await durable.connect();
  try {
    await durable.fetchTopicOffsets(gone);
    await remove(gone); // by the test's own admin, not this one
    // The controller has deleted it; a broker's metadata cache learns so a moment later, and
    // only then does a metadata request naming it fail. Wait for that, not for a guessed time.
    await waitFor(`${gone} gone from the brokers' metadata`, () =>
      admin.fetchTopicMetadata({ topics: [gone] }).then(
        () => false,
        () => true,
      ),
    );
    const [offsets] = await durable.fetchTopicOffsets(kept); // a topic it had not read before
    assert.equal(offsets?.high, '0');
    assert.deepEqual(replaced, ['admin']);
  } finally {
    await durable.disconnect();
    await remove(kept);
  }
});
