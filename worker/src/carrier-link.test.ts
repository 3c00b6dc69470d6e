import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CarrierMessage, SubmitRequest } from '@anshim/proto';
import { attemptField, encodeSubmitRequest } from './carrier-link.ts';

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

test("a retry's attempt appended to a frame wins over the frame's own, the rest reads as written", () => {
  const frame = CarrierMessage.encode({ id: 'm1', campaignId: 'c', attempt: 1, idempotencyKey: 'c:r1' }).finish();
  const retried = SubmitRequest.decode(encodeSubmitRequest([frame], attemptField(3)));
  assert.deepEqual(
    retried.messages.map((m) => [m.id, m.attempt, m.idempotencyKey]),
    [['m1', 3, 'c:r1']],
  );
  const traced = Buffer.concat([attemptField(300), CarrierMessage.encode({ traceParent: TRACEPARENT }).finish()]);
  const both = SubmitRequest.decode(encodeSubmitRequest([frame], traced)).messages[0]!;
  assert.deepEqual([both.attempt, both.traceParent], [300, TRACEPARENT]);
});
