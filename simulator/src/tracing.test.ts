// The carrier hop of a trace: a Submit batch's trace_parent travels to its delivery reports,
// through the simulator's own server span when the simulator records spans.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger, SimulatedPortabilityDirectory } from '@anshim/core';
import { readSpanFile, spanContextOfTraceParent, startTelemetry } from '@anshim/telemetry';
import { simulatorTransportKey } from './keys.ts';
import { startCarrierSimulator } from './server.ts';
import { collectReports, dialCarrier, sealForCarrier, submitBatches } from './testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'anshim-sim-tracing-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const NUMBER = '01011112222';
const directory = new SimulatedPortabilityDirectory('test');
directory.port(NUMBER, 'skt');
const WORKER_SPAN = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
const WORKER_TRACEPARENT = `00-${WORKER_SPAN.traceId}-${WORKER_SPAN.spanId}-01`;

/** Submits one traced batch of two and one untraced message; returns their reports by message id. */
async function roundTrip(campaignId: string) {
  const key = simulatorTransportKey('skt', randomBytes(32));
  const sim = await startCarrierSimulator({
    carrier: 'skt',
    transportKey: key,
    portability: directory,
    deliveryDelayMs: 1,
    latencyMs: 0,
    logger: createLogger('simulator', { level: 'silent' }),
  });
  const client = dialCarrier(sim.address);
  try {
    const m = (id: string) => sealForCarrier(key, { id, campaignId, recipient: NUMBER, text: '인증번호 1234' });
    const traced = [m('t1'), m('t2')].map((x) => ({ ...x, traceParent: WORKER_TRACEPARENT }));
    await submitBatches(client, [traced, [m('u1')]]);
    const reports = await collectReports(client, 3, { campaignIds: [campaignId] });
    return new Map(reports.map((r) => [r.messageId, r.traceParent ?? '']));
  } finally {
    client.close();
    await sim.close();
  }
}

test('without telemetry of its own, the simulator hands the worker’s trace_parent to the reports as it came', async () => {
  const byId = await roundTrip('cmp-pass');
  assert.equal(byId.get('t1'), WORKER_TRACEPARENT);
  assert.equal(byId.get('t2'), WORKER_TRACEPARENT);
  assert.equal(byId.get('u1'), '', 'an untraced message’s report carries none');
});

test('with telemetry, a server span continues the worker’s Submit span and the reports continue the server span', async () => {
  const traceFile = join(tmp, 'spans.jsonl');
  const telemetry = await startTelemetry({ service: 'anshim-simulator', traceFile });
  let byId: Map<string | null | undefined, string>;
  try {
    byId = await roundTrip('cmp-span');
    await telemetry.flush();
  } finally {
    await telemetry.shutdown();
  }
  const spans = readSpanFile(traceFile);
  assert.equal(spans.length, 1, 'one span: the traced batch (the untraced one starts none)');
  const [server] = spans;
  assert.equal(server?.kind, 'SERVER');
  assert.equal(server?.name, 'anshim.carrier.v1.CarrierGateway/Submit');
  assert.equal(server?.traceId, WORKER_SPAN.traceId);
  assert.equal(server?.parentSpanId, WORKER_SPAN.spanId);
  assert.deepEqual(
    [
      server?.attributes['rpc.system'],
      server?.attributes['anshim.carrier'],
      server?.attributes['anshim.carrier.message_count'],
    ],
    ['grpc', 'skt', 2],
  );
  const reported = spanContextOfTraceParent(byId.get('t1') ?? '');
  assert.equal(reported?.traceId, WORKER_SPAN.traceId);
  assert.equal(reported?.spanId, server?.spanId, 'the reports carry the carrier’s span');
  assert.equal(byId.get('t2'), byId.get('t1'));
  assert.equal(byId.get('u1'), '');
});
