import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, Producer } from 'kafkajs';
import { BatchingSink } from './sink.ts';

/** A producer that refuses the sends it is told to, and records what it acknowledged. */
function fakeProducer(refuse: (attempt: number) => boolean) {
  const acked: string[] = [];
  let attempt = 0;
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }) => {
      attempt++;
      if (refuse(attempt)) throw new Error(`refused attempt ${attempt}`);
      for (const t of topicMessages) for (const m of t.messages) acked.push(`${t.topic}:${String(m.value)}`);
      return [];
    },
  } as unknown as Producer;
  return { producer, acked, attempts: () => attempt };
}

test('a failed background flush loses nothing: the next flush sends its messages before resolving', async () => {
  const p = fakeProducer((n) => n === 1);
  const sink = new BatchingSink(p.producer, 'w1', { lingerMs: 60_000, maxBatch: 2 });
  // Two messages reach maxBatch: a background flush starts, and the broker refuses it.
  sink.push('anshim.deadletters', [{ value: 'dl-1' }, { value: 'dl-2' }]);
  sink.push('anshim.hold.x', [{ value: 'hold-1' }]);
  // The caller's flush (before committing its batch) must cover dl-1 and dl-2 too.
  await sink.flush();
  assert.deepEqual(p.acked.sort(), ['anshim.deadletters:dl-1', 'anshim.deadletters:dl-2', 'anshim.hold.x:hold-1']);
  assert.equal(p.attempts(), 2);
});

test('a flush whose messages the broker refuses rejects, and a later one sends them, in order', async () => {
  const p = fakeProducer((n) => n <= 2);
  const sink = new BatchingSink(p.producer, 'w1', { lingerMs: 60_000, maxBatch: 1000 });
  sink.push('t', [{ value: 'a' }]);
  await assert.rejects(sink.flush(), /refused attempt 1/);
  sink.push('t', [{ value: 'b' }]);
  await assert.rejects(sink.flush(), /refused attempt 2/, 'nothing may be committed yet');
  await sink.flush();
  assert.deepEqual(p.acked, ['t:a', 't:b']);
});

test('while the broker refuses, pushes past the batch size do not stack up sends', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let sends = 0;
  const producer = {
    sendBatch: async () => {
      sends++;
      await gate;
      throw new Error('down');
    },
  } as unknown as Producer;
  const sink = new BatchingSink(producer, 'w1', { lingerMs: 60_000, maxBatch: 1 });
  for (let i = 0; i < 50; i++) sink.push('t', [{ value: String(i) }]);
  release();
  await assert.rejects(sink.flush(), /down/);
  assert.ok(sends <= 3, `${sends} sends for 50 pushes`);
});
