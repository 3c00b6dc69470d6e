import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaAccess } from './stack.ts';

// Smoke test: the broker `stack up` started is a real Kafka that stores, serves and deletes topics.
test(
  'kafka: a 6-partition topic carries 10,000 records end to end, then is deleted',
  { timeout: 120_000 },
  async () => {
    const kafka = new Kafka({ clientId: 'stack-smoke', ...kafkaAccess(), logLevel: logLevel.WARN });
    const topic = `smoke-${process.pid}-${Date.now()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.equal(
        await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true }),
        true,
      );
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      assert.equal(meta?.partitions.length, 6);

      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const total = 10_000;
      for (let start = 0; start < total; start += 1000) {
        const messages = Array.from({ length: 1000 }, (_, i) => ({
          key: `k${start + i}`,
          value: `record-${start + i}`,
        }));
        await producer.send({ topic, messages, acks: -1 });
      }
      await producer.disconnect();

      const consumer = kafka.consumer({ groupId: `${topic}-group` });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const seen = new Set<string>();
      const partitions = new Set<number>();
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) seen.add(m.value?.toString() ?? '');
              partitions.add(batch.partition);
              if (seen.size >= total) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      assert.equal(seen.size, total);
      assert.ok(seen.has('record-0') && seen.has(`record-${total - 1}`));
      assert.equal(partitions.size, 6, 'keys spread over every partition');

      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(
        offsets.reduce((sum, p) => sum + Number(p.high), 0),
        total,
      );

      await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
      assert.ok(!(await admin.listTopics()).includes(topic));
    } finally {
      await admin.disconnect();
    }
  },
);
