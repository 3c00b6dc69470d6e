import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CarrierMessage, SubmitRequest } from '@anshim/proto';
import { encodeSubmitRequest } from './carrier-link.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a trace_parent trailer is appended to every encoded message; the rest of each reads as before', () => {
  // 60 + 57 bytes crosses the one-byte length boundary (128): the varint must grow with the trailer.
  const frames = [1, 6, 300].map((n) =>
    CarrierMessage.encode({ id: `m${n}`, campaignId: 'c', attempt: 2, sealedBody: Buffer.alloc(n * 10, 7) }).finish(),
  );
  const trailer = CarrierMessage.encode({ traceParent: TRACEPARENT }).finish();
  const traced = SubmitRequest.decode(encodeSubmitRequest(frames, trailer));
  const plain = SubmitRequest.decode(encodeSubmitRequest(frames));
  assert.deepEqual(
    traced.messages.map((m) => [m.id, m.attempt, m.sealedBody?.length, m.traceParent]),
    [
      ['m1', 2, 10, TRACEPARENT],
      ['m6', 2, 60, TRACEPARENT],
      ['m300', 2, 3000, TRACEPARENT],
    ],
  );
  assert.deepEqual(
    plain.messages.map((m) => [m.id, m.traceParent]),
    [
      ['m1', ''],
      ['m6', ''],
      ['m300', ''],
    ],
  );
  assert.deepEqual(
    encodeSubmitRequest(frames),
    Buffer.from(SubmitRequest.encode({ messages: plain.messages }).finish()),
  );
});
