import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProducerRecord } from 'kafkajs';
import { SendCoalescer } from './coalescer.ts';
import { IngestError } from './errors.ts';

/** A producer whose every send waits until the test answers it. */
class GatedProducer {
  readonly requests: Array<{ record: ProducerRecord; ack: () => void; fail: (err: Error) => void }> = [];

  send(record: ProducerRecord): Promise<[]> {
    return new Promise((resolve, reject) =>
      this.requests.push({ record, ack: () => resolve([]), fail: (err) => reject(err) }),
    );
  }
}

const message = (n: number) => ({ key: `r${n}`, value: Buffer.from(`v${n}`) });
const keys = (r: { record: ProducerRecord } | undefined) => r?.record.messages.map((m) => String(m.key));
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Which of `sends` have settled, and how. */
function watch(sends: Promise<void>[]): Array<'pending' | 'acked' | IngestError> {
  const state: Array<'pending' | 'acked' | IngestError> = sends.map(() => 'pending');
  sends.forEach((s, i) =>
    s.then(
      () => (state[i] = 'acked'),
      (err: IngestError) => (state[i] = err),
    ),
  );
  return state;
}

describe('SendCoalescer', () => {
  test('concurrent sends share one produce request (acks -1); each resolves only once Kafka acknowledged it', async () => {
    const producer = new GatedProducer();
    const coalescer = new SendCoalescer(producer, { lingerMs: 5, maxMessages: 100 });
    const state = watch([1, 2, 3].map((n) => coalescer.send('t', message(n))));
    assert.equal(producer.requests.length, 0, 'lingering');
    await tick(20);
    assert.equal(producer.requests.length, 1);
    assert.deepEqual(keys(producer.requests[0]), ['r1', 'r2', 'r3']);
    assert.equal(producer.requests[0]?.record.acks, -1);
    assert.equal(producer.requests[0]?.record.topic, 't');
    await tick(10);
    assert.deepEqual(state, ['pending', 'pending', 'pending'], 'no answer before the acknowledgement');
    producer.requests[0]?.ack();
    await tick();
    assert.deepEqual(state, ['acked', 'acked', 'acked']);
  });

  test('a full batch goes out at once, without waiting for the linger', async () => {
    const producer = new GatedProducer();
    const coalescer = new SendCoalescer(producer, { lingerMs: 60_000, maxMessages: 3 });
    const state = watch([1, 2, 3].map((n) => coalescer.send('t', message(n))));
    await tick();
    assert.equal(producer.requests.length, 1);
    producer.requests[0]?.ack();
    await tick();
    assert.deepEqual(state, ['acked', 'acked', 'acked']);
  });

  test('one request in flight: sends arriving meanwhile gather and go out as soon as it is answered', async () => {
    const producer = new GatedProducer();
    const coalescer = new SendCoalescer(producer, { lingerMs: 1, maxMessages: 2 });
    const state = watch([1, 2, 3, 4, 5].map((n) => coalescer.send('t', message(n))));
    await tick(10);
    assert.equal(producer.requests.length, 1, 'the rest wait for the first request');
    assert.deepEqual(keys(producer.requests[0]), ['r1', 'r2']);
    producer.requests[0]?.ack();
    await tick();
    assert.equal(producer.requests.length, 2, 'sent on the acknowledgement, not after another linger');
    assert.deepEqual(keys(producer.requests[1]), ['r3', 'r4'], 'at most maxMessages a request');
    assert.deepEqual(state, ['acked', 'acked', 'pending', 'pending', 'pending']);
    producer.requests[1]?.ack();
    await tick();
    assert.deepEqual(keys(producer.requests[2]), ['r5']);
    producer.requests[2]?.ack();
    await tick();
    assert.deepEqual(state, ['acked', 'acked', 'acked', 'acked', 'acked']);
  });

  test('a failed request fails exactly its own sends, with a typed error naming no record; the next batch goes on', async () => {
    const producer = new GatedProducer();
    const coalescer = new SendCoalescer(producer, { lingerMs: 1, maxMessages: 100 });
    const first = watch([1, 2].map((n) => coalescer.send('t', message(n))));
    await tick(10);
    const second = watch([coalescer.send('t', message(3))]);
    const broker = new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092 r1');
    broker.name = 'KafkaJSNumberOfRetriesExceeded';
    producer.requests[0]?.fail(broker);
    await tick();
    for (const s of first) {
      assert.ok(s instanceof IngestError, String(s));
      assert.equal(s.code, 'kafka-unavailable');
      assert.equal(s.status, 503);
      assert.equal(
        s.message,
        'Kafka did not acknowledge the message (KafkaJSNumberOfRetriesExceeded; all 2 messages of its produce request failed)',
      );
    }
    assert.deepEqual(second, ['pending']);
    assert.deepEqual(keys(producer.requests[1]), ['r3']);
    producer.requests[1]?.ack();
    await tick();
    assert.deepEqual(second, ['acked']);
  });

  test('sends to several topics: one request per topic, and a failure stays with its topic', async () => {
    const producer = new GatedProducer();
    const coalescer = new SendCoalescer(producer, { lingerMs: 1, maxMessages: 100 });
    const state = watch([
      coalescer.send('a', message(1)),
      coalescer.send('b', message(2)),
      coalescer.send('a', message(3)),
    ]);
    await tick(10);
    assert.deepEqual(
      producer.requests.map((r) => [r.record.topic, keys(r)]),
      [
        ['a', ['r1', 'r3']],
        ['b', ['r2']],
      ],
    );
    producer.requests[1]?.fail(new Error('gone'));
    producer.requests[0]?.ack();
    await tick();
    assert.equal(state[0], 'acked');
    assert.equal(state[2], 'acked');
    assert.ok(state[1] instanceof IngestError && state[1].code === 'kafka-unavailable');
  });
});
