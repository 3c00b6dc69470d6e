import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckStatus, type Ack } from '@anshim/proto';
import type { CarrierId } from '@anshim/core';
import type { CarrierLink } from './carrier-link.ts';
import { Dispatcher } from './dispatcher.ts';
import type { PreparedMessage } from './prepare.ts';

/** A carrier link that throttles everything `throttleRounds` times, then accepts; it records what it was sent. */
function recordingLink(throttleRounds: number) {
  const calls: Array<{ frames: Uint8Array[]; attempt: number }> = [];
  const link = {
    async submit(frames: Uint8Array[], attempt = 1): Promise<Ack[]> {
      calls.push({ frames, attempt });
      const status = calls.length <= throttleRounds ? AckStatus.THROTTLED : AckStatus.ACCEPTED;
      return frames.map(() => ({ status, retryAfterMs: 0 }) as Ack);
    },
  };
  return { calls, link: link as unknown as CarrierLink };
}

test('a retried message goes again as the very frame the pool wrote, with its attempt number', async () => {
  const { calls, link } = recordingLink(2);
  const dispatcher = new Dispatcher(new Map<CarrierId, CarrierLink>([['skt', link]]), {
    maxAttempts: 5,
    backoff: { baseMs: 0, maxMs: 0 },
    batchSize: 500,
  });
  const frames = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6)];
  const messages = frames.map((frame) => ({ carrier: 'skt', frame }) as unknown as PreparedMessage);
  const outcomes = await dispatcher.dispatch(messages);
  assert.deepEqual(
    outcomes.map((o) => [o.kind, o.attempts]),
    [
      ['accepted', 3],
      ['accepted', 3],
    ],
  );
  assert.deepEqual(
    calls.map((c) => c.attempt),
    [1, 2, 3],
  );
  for (const call of calls)
    call.frames.forEach((f, i) => assert.equal(f, frames[i], 'the same bytes, not a re-encoding'));
});
