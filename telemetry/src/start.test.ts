import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { grpcSpan, kafkaSendSpan } from './conventions.ts';
import { guardedCounter, guardedGauge, guardedHistogram } from './instruments.ts';
import { hotCounter, hotHistogram } from './hot-instruments.ts';
import { injectKafkaHeaders } from './propagation.ts';
import { readSpanFile } from './span-export.ts';
import { inSpan } from './spans.ts';
import { startTelemetry, telemetryOptionsFromEnv } from './start.ts';

const CANARY = { phone: '010-9999-0417', national: '01099990417', name: '카나리아' };
const tmp = mkdtempSync(join(tmpdir(), 'anshim-telemetry-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('metrics on /metrics and spans in a JSON-lines file, with planted personal data refused', async () => {
  const traceFile = join(tmp, 'spans.jsonl');
  const t = await startTelemetry({ service: 'anshim-test', metricsPort: 0, metricsHost: '127.0.0.1', traceFile });
  try {
    const sent = guardedCounter(t.meter, 'anshim_test_messages_total', {
      description: 'test',
      labels: ['campaign', 'result'],
    });
    sent.add(3, { campaign: 'c1', result: 'ACCEPTED' });
    sent.add(1, { campaign: `c-${CANARY.national}`, result: CANARY.name });
    const latency = guardedHistogram(t.meter, 'anshim_test_latency_seconds', {
      description: 'test',
      unit: 's',
      labels: ['campaign'],
      buckets: [0.1, 1],
    });
    latency.record(0.05, { campaign: 'c1' });
    latency.record(0.5, { campaign: 'c1' });
    const lag = guardedGauge(t.meter, 'anshim_test_lag', { description: 'test', labels: ['campaign'] });
    lag.set({ campaign: 'c1' }, 42);
    lag.set({ campaign: 'gone' }, 1);
    lag.delete({ campaign: 'gone' });

    const hot = hotHistogram('anshim_test_hot_seconds', {
      description: 'hot',
      unit: 's',
      labels: ['carrier'],
      buckets: [0.01, 0.1],
    });
    for (const v of [0.005, 0.01, 0.05, 2]) hot.record(v, { carrier: 'skt' });
    hot.record(0.05, { carrier: CANARY.phone });
    const hotTotal = hotCounter('anshim_test_hot_total', { description: 'hot', labels: ['result'] });
    hotTotal.add(2, { result: 'ACCEPTED' });
    const bound = hotTotal.bind({ result: 'ACCEPTED' });
    bound.add(3);
    hot.bind({ carrier: CANARY.name }).record(0.5);
    assert.throws(
      () => hotCounter('anshim_test_hot_seconds', { description: 'x', labels: ['carrier'] }),
      /already defined/,
    );

    let headers: Record<string, string> = {};
    await inSpan(
      t.tracer,
      kafkaSendSpan('anshim.campaign.c1.bulk', 2, { 'recipient.phone': CANARY.phone }),
      async (span) => {
        span.setAttribute('anshim.campaign.id', CANARY.name);
        headers = injectKafkaHeaders({});
        await inSpan(
          t.tracer,
          grpcSpan('client', 'anshim.carrier.v1.CarrierGateway', 'Submit', '127.0.0.1:7000'),
          async (s) => {
            s.addEvent('exception', { 'exception.type': 'Error', 'exception.message': `bad number ${CANARY.phone}` });
          },
        );
      },
    );
    await assert.rejects(
      inSpan(t.tracer, { name: `lookup ${CANARY.national}`, kind: 0, attributes: {} }, async () => {
        throw new TypeError(`no such number ${CANARY.phone}`);
      }),
      TypeError,
    );
    assert.equal(trace.getSpan(context.active()), undefined, 'no span left active');
    await t.flush();

    const text = await (await fetch(t.metricsUrl!)).text();
    assert.match(text, /anshim_test_messages_total\{campaign="c1",result="ACCEPTED"\} 3/);
    assert.match(text, /anshim_test_messages_total\{campaign="redacted",result="redacted"\} 1/);
    assert.match(text, /anshim_test_latency_seconds_bucket\{campaign="c1",le="0.1"\} 1/);
    assert.match(text, /anshim_test_latency_seconds_bucket\{campaign="c1",le="1"\} 2/);
    assert.match(text, /anshim_test_lag\{campaign="c1"\} 42/);
    assert.doesNotMatch(text, /campaign="gone"/);
    assert.match(text, /anshim_test_hot_seconds_bucket\{carrier="skt",le="0.01"\} 2/);
    assert.match(text, /anshim_test_hot_seconds_bucket\{carrier="skt",le="0.1"\} 3/);
    assert.match(text, /anshim_test_hot_seconds_bucket\{carrier="skt",le="\+Inf"\} 4/);
    assert.match(text, /anshim_test_hot_seconds_count\{carrier="redacted"\} 2/);
    assert.match(text, /# TYPE anshim_test_hot_total counter\nanshim_test_hot_total\{result="ACCEPTED"\} 5/);
    assert.match(text, /anshim_telemetry_redactions_total\{reason="phone-like",signal="metric"\} 2/);
    assert.match(text, /anshim_telemetry_redactions_total\{reason="hangul",signal="metric"\} 2/);

    const spans = readSpanFile(traceFile);
    assert.equal(spans.length, 3);
    const send = spans.find((s) => s.kind === 'PRODUCER')!;
    const submit = spans.find((s) => s.kind === 'CLIENT')!;
    const failed = spans.find((s) => s.status.code === 'ERROR')!;
    assert.equal(headers.traceparent, `00-${send.traceId}-${send.spanId}-01`);
    assert.equal(submit.parentSpanId, send.spanId);
    assert.equal(submit.traceId, send.traceId);
    assert.deepEqual(send.attributes, {
      'messaging.system': 'kafka',
      'messaging.destination.name': 'anshim.campaign.c1.bulk',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.batch.message_count': 2,
      'anshim.campaign.id': 'redacted',
    });
    assert.equal(submit.name, 'anshim.carrier.v1.CarrierGateway/Submit');
    assert.equal(submit.attributes['rpc.system'], 'grpc');
    assert.equal(submit.attributes['server.port'], 7000);
    assert.deepEqual(submit.events, [{ name: 'exception', attributes: { 'exception.type': 'Error' } }]);
    assert.equal(failed.name, 'redacted');
    assert.deepEqual(failed.attributes, { 'error.type': 'TypeError' });
    assert.equal(send.service, 'anshim-test');

    const raw = readFileSync(traceFile, 'utf8') + text;
    for (const needle of Object.values(CANARY)) assert.equal(raw.includes(needle), false, needle);
  } finally {
    await t.shutdown();
  }
});

test('telemetry can be started again after shutdown; without exporters spans are not recorded', async () => {
  const t = await startTelemetry({ service: 'anshim-test' });
  try {
    await assert.rejects(startTelemetry({ service: 'again' }), /already started/);
    const span = t.tracer.startSpan('x');
    assert.equal(span.isRecording(), false);
    span.end();
    assert.equal(t.metricsUrl, undefined);
  } finally {
    await t.shutdown();
  }
});

test('options from the environment', () => {
  assert.deepEqual(
    telemetryOptionsFromEnv('anshim-worker', {
      ANSHIM_METRICS_PORT: '9464',
      ANSHIM_TRACE_FILE: '/var/log/spans.jsonl',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
    }),
    {
      service: 'anshim-worker',
      instance: undefined,
      metricsPort: 9464,
      metricsHost: undefined,
      traceFile: '/var/log/spans.jsonl',
      otlpEndpoint: 'http://otel-collector:4318',
    },
  );
  assert.throws(() => telemetryOptionsFromEnv('x', { ANSHIM_METRICS_PORT: 'abc' }), /ANSHIM_METRICS_PORT/);
});
