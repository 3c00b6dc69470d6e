import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { propagation, ROOT_CONTEXT, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import {
  batchParent,
  parentOrLinks,
  recordedTraceParent,
  spanContextOfTraceParent,
  extractGrpcContext,
  extractKafkaContext,
  injectGrpcMetadata,
  injectKafkaHeaders,
  spanContextOfKafkaHeaders,
  TRACEPARENT,
} from './propagation.ts';

const sc = (n: number): SpanContext => ({
  traceId: n.toString(16).padStart(32, 'a'),
  spanId: n.toString(16).padStart(16, 'b'),
  traceFlags: TraceFlags.SAMPLED,
});
const ctxOf = (s: SpanContext) => trace.setSpanContext(ROOT_CONTEXT, s);
/** What kafkajs hands a consumer: header values as Buffers. */
const asReceived = (h: Record<string, string | Buffer | undefined>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(String(v))]));

test('Kafka headers carry W3C traceparent next to the existing headers; the consumer extracts it', () => {
  const headers = injectKafkaHeaders({ 'anshim-campaign': 'c1' }, ctxOf(sc(1)));
  assert.equal(headers['anshim-campaign'], 'c1');
  assert.equal(headers[TRACEPARENT], `00-${sc(1).traceId}-${sc(1).spanId}-01`);
  const received = asReceived(headers);
  const remote = trace.getSpanContext(extractKafkaContext(received));
  assert.equal(remote?.traceId, sc(1).traceId);
  assert.equal(remote?.spanId, sc(1).spanId);
  assert.equal(remote?.isRemote, true);
  assert.deepEqual(spanContextOfKafkaHeaders(received)?.spanId, sc(1).spanId);
});

test('without an active span nothing is injected; a malformed traceparent is ignored', () => {
  assert.deepEqual(injectKafkaHeaders({ a: 'b' }), { a: 'b' });
  assert.equal(spanContextOfKafkaHeaders({ [TRACEPARENT]: Buffer.from('00-nonsense') }), undefined);
  assert.equal(spanContextOfKafkaHeaders(undefined), undefined);
});

test('baggage never travels, even when the context has some', () => {
  const ctx = propagation.setBaggage(ctxOf(sc(2)), propagation.createBaggage({ phone: { value: '01099990417' } }));
  const headers = injectKafkaHeaders({}, ctx);
  assert.deepEqual(Object.keys(headers), [TRACEPARENT]);
  const md = injectGrpcMetadata(new Metadata(), ctx);
  assert.deepEqual(Object.keys(md.getMap()), [TRACEPARENT]);
});

test('a batch from one producer span is parented by it; a mixed batch links to each distinct parent', () => {
  const one = [1, 1, 1].map((n) => ({ headers: asReceived(injectKafkaHeaders({}, ctxOf(sc(n)))) }));
  const single = batchParent([...one, { headers: {} }]);
  assert.equal(trace.getSpanContext(single.parent)?.spanId, sc(1).spanId);
  assert.deepEqual(single.links, []);

  const mixed = batchParent([1, 2, 2, 3].map((n) => ({ headers: asReceived(injectKafkaHeaders({}, ctxOf(sc(n)))) })));
  assert.equal(trace.getSpanContext(mixed.parent), undefined, 'a new trace');
  assert.deepEqual(
    mixed.links.map((l) => l.context.spanId),
    [1, 2, 3].map((n) => sc(n).spanId),
  );

  const untraced = batchParent([{ headers: { 'anshim-campaign': Buffer.from('c1') } }, {}]);
  assert.equal(trace.getSpanContext(untraced.parent), undefined);
  assert.deepEqual(untraced.links, []);
});

test('gRPC metadata carries traceparent from client to server', () => {
  const md = injectGrpcMetadata(new Metadata(), ctxOf(sc(7)));
  assert.deepEqual(md.get(TRACEPARENT), [`00-${sc(7).traceId}-${sc(7).spanId}-01`]);
  // As the server sees it: a fresh Metadata from the wire representation.
  const server = Metadata.fromHttp2Headers(md.toHttp2Headers() as IncomingHttpHeaders);
  const remote = trace.getSpanContext(extractGrpcContext(server));
  assert.equal(remote?.traceId, sc(7).traceId);
  assert.equal(remote?.isRemote, true);
  assert.equal(trace.getSpanContext(extractGrpcContext(new Metadata())), undefined);
});

test('parentOrLinks: one distinct context parents, several are linked (each once)', () => {
  const single = parentOrLinks([sc(4), { ...sc(4) }]);
  assert.equal(trace.getSpanContext(single.parent)?.spanId, sc(4).spanId);
  assert.deepEqual(single.links, []);
  const several = parentOrLinks([sc(4), sc(5), sc(4)]);
  assert.equal(trace.getSpanContext(several.parent), undefined);
  assert.deepEqual(
    several.links.map((l) => l.context.spanId),
    [sc(4).spanId, sc(5).spanId],
  );
  assert.deepEqual(parentOrLinks([]).links, []);
});

test('a per-message traceparent: only for a span this process records and samples; parsed back exactly', () => {
  const sampled = new BasicTracerProvider().getTracer('t').startSpan('s');
  const tp = recordedTraceParent(sampled);
  const own = sampled.spanContext();
  assert.equal(tp, `00-${own.traceId}-${own.spanId}-01`);
  const back = spanContextOfTraceParent(tp!);
  assert.equal(back?.traceId, own.traceId);
  assert.equal(back?.spanId, own.spanId);
  assert.equal(back?.isRemote, true);
  sampled.end();

  // Telemetry off (a non-recording span, even with a sampled remote parent) and a sampler saying no: nothing.
  assert.equal(recordedTraceParent(trace.wrapSpanContext(sc(6))), undefined);
  const unsampled = new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('t').startSpan('s');
  assert.equal(recordedTraceParent(unsampled), undefined);
  assert.equal(spanContextOfTraceParent(''), undefined);
  assert.equal(spanContextOfTraceParent('00-nonsense'), undefined);
});
