// The gateway's spans without a stack: a server span per request, a send span per message and
// per upload batch (not per row), and each record's traceparent naming its send span.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpanFile, startTelemetry, type SpanRecord, type Telemetry } from '@anshim/telemetry';
import { StaticCampaignLookup } from './campaigns.ts';
import { createGatewayServer } from './server.ts';
import { buildCsv, CapturingProducer, memoryKeys, senderAccess, SENDER_TOKEN, silentLogger } from './test-fixtures.ts';

const CALLER = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

describe('gateway spans', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anshim-gateway-spans-'));
  const traceFile = join(tmp, 'spans.jsonl');
  let telemetry: Telemetry;
  let spans: SpanRecord[] = [];
  const producer = new CapturingProducer();

  before(async () => {
    telemetry = await startTelemetry({ service: 'anshim-gateway', traceFile });
    const keys = memoryKeys();
    await keys.ensure('bank.otp');
    const app = createGatewayServer(
      {
        keys,
        campaigns: new StaticCampaignLookup([
          ['bank.otp', { purpose: 'transactional', priorityClass: 'transactional', phase: 'Sending', topic: 't.otp' }],
        ]),
        producer,
        logger: silentLogger(),
        access: senderAccess(),
      },
      { batchRecords: 2 },
    );
    await app.ready();
    const message = await app.inject({
      method: 'POST',
      url: '/v1/campaigns/bank.otp/messages',
      headers: { traceparent: `00-${CALLER.traceId}-${CALLER.spanId}-01`, authorization: `Bearer ${SENDER_TOKEN}` },
      payload: { purpose: 'transactional', recipient: { phone: '010-9999-0417', name: '카나리아' } },
    });
    assert.equal(message.statusCode, 202, message.body);
    const rows = [1, 2, 3, 4, 5].map((i) => [`김민${i}`, `010-2000-000${i}`]);
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/campaigns/bank.otp/uploads?purpose=transactional',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${SENDER_TOKEN}` },
      payload: buildCsv([['이름', '휴대폰'], ...rows]),
    });
    assert.equal(upload.statusCode, 200, upload.body);
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.close();
    await telemetry.flush();
    spans = readSpanFile(traceFile);
  });

  after(async () => {
    await telemetry?.shutdown();
    rmSync(tmp, { recursive: true, force: true });
  });

  const traceparentOf = (s: SpanRecord) => `00-${s.traceId}-${s.spanId}-01`;

  test('a message: the request’s server span continues the caller’s trace; its send span names the record', () => {
    const request = spans.find((s) => s.name === 'POST /v1/campaigns/:campaignId/messages');
    assert.ok(request);
    assert.equal(request.kind, 'SERVER');
    assert.equal(request.traceId, CALLER.traceId);
    assert.equal(request.parentSpanId, CALLER.spanId);
    assert.equal(request.attributes['http.response.status_code'], 202);
    const send = spans.find((s) => s.parentSpanId === request.spanId);
    assert.equal(send?.name, 'send t.otp');
    assert.equal(send?.kind, 'PRODUCER');
    assert.equal(send?.attributes['messaging.batch.message_count'], 1);
    const record = producer.messages.find(
      (m) => m.topic === 't.otp' && m.headers?.traceparent === traceparentOf(send!),
    );
    assert.ok(record, 'the record carries its send span’s traceparent');
    assert.equal(record.headers?.['anshim-campaign'], 'bank.otp');
  });

  test('an upload: one send span per produced batch, never per row, each record carrying its batch’s', () => {
    const request = spans.find((s) => s.name === 'POST /v1/campaigns/:campaignId/uploads');
    assert.ok(request);
    assert.equal(request.attributes['http.response.status_code'], 200);
    assert.equal(request.parentSpanId, undefined, 'no caller context: a trace of its own');
    const sends = spans.filter((s) => s.parentSpanId === request.spanId);
    assert.deepEqual(
      sends.map((s) => [s.name, s.attributes['messaging.batch.message_count']]),
      [
        ['send t.otp', 2],
        ['send t.otp', 2],
        ['send t.otp', 1],
      ],
    );
    const uploaded = producer.messages.slice(1);
    assert.equal(uploaded.length, 5);
    assert.deepEqual(
      uploaded.map((m) => m.headers?.traceparent),
      [0, 0, 1, 1, 2].map((i) => traceparentOf(sends[i]!)),
    );
  });

  test('no span for /healthz, and no number, name or URL in any span', () => {
    assert.equal(spans.length, 6, spans.map((s) => s.name).join(', '));
    const text = JSON.stringify(spans);
    const needles = ['010-9999-0417', '01099990417', '카나리아', '010-2000-000', '0102000000', '김민'];
    for (const needle of [...needles, 'purpose=', '/v1/campaigns/bank.otp'])
      assert.equal(text.includes(needle), false, needle);
  });
});
