// W3C trace context across Anshim's two hops: Kafka record headers (gateway → worker) and
// gRPC metadata (worker → carrier). Only `traceparent`/`tracestate` travel: no baggage,
// which could carry anything a caller put in it.
import {
  context,
  ROOT_CONTEXT,
  trace,
  type Context,
  TraceFlags,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** The shape of kafkajs' `IHeaders` (so this package needs no kafkajs). */
export type KafkaHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

/** What @grpc/grpc-js' `Metadata` offers that propagation needs. */
export interface GrpcMetadataLike {
  set(key: string, value: string): void;
  get(key: string): Array<string | Buffer>;
}

export const TRACEPARENT = 'traceparent';
const propagator = new W3CTraceContextPropagator();

const first = (v: Buffer | string | Array<Buffer | string> | undefined): string | undefined => {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : typeof one === 'string' ? one : one.toString('latin1');
};

const kafkaSetter: TextMapSetter<KafkaHeaders> = {
  set: (headers, key, value) => {
    headers[key] = value;
  },
};
// Kafka headers and HTTP request headers are read alike.
const kafkaGetter: TextMapGetter<KafkaHeaders | undefined> = {
  get: (headers, key) => first(headers?.[key]),
  keys: (headers) => Object.keys(headers ?? {}),
};
const grpcSetter: TextMapSetter<GrpcMetadataLike> = { set: (md, key, value) => md.set(key, value) };
const grpcGetter: TextMapGetter<GrpcMetadataLike> = {
  get: (md, key) => first(md.get(key)),
  keys: () => [TRACEPARENT, 'tracestate'],
};

/**
 * Adds the W3C `traceparent` (and `tracestate`) of `ctx` — by default the active span's —
 * to a Kafka record's headers, in place, and returns them. Producers (the gateway) call it
 * for every record inside their send span:
 *
 *   tracer.startActiveSpan(spec.name, spec, async (span) => {
 *     messages = rows.map((r) => ({ value, headers: injectKafkaHeaders({ 'anshim-campaign': id }) }));
 *     await producer.send({ topic, messages }); span.end();
 *   });
 *
 * With no active span (telemetry off) it adds nothing.
 */
export function injectKafkaHeaders<H extends KafkaHeaders>(
  headers: H,
  ctx: Context = context.active(),
): H & { traceparent?: string; tracestate?: string } {
  propagator.inject(ctx, headers, kafkaSetter);
  return headers;
}

/** The context a producer injected into a record's headers, on top of `base` (ROOT by default). */
export function extractKafkaContext(headers: KafkaHeaders | undefined, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, headers, kafkaGetter);
}

/** A caller's context from HTTP request headers (an incoming `traceparent`), on top of `base`. */
export function extractHttpContext(
  headers: Record<string, string | string[] | undefined>,
  base: Context = ROOT_CONTEXT,
): Context {
  return propagator.extract(base, headers, kafkaGetter);
}

/** The remote span context in a record's headers, if there is a valid one. */
export function spanContextOfKafkaHeaders(headers: KafkaHeaders | undefined): SpanContext | undefined {
  if (!headers?.[TRACEPARENT]) return undefined;
  const sc = trace.getSpanContext(extractKafkaContext(headers));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

const MAX_LINKS = 128;

/**
 * Where a span that handles many messages belongs (messaging conventions for batches): when
 * every traced message came from the same span, that span is the parent; when they came from
 * several, the span starts a trace of its own and links to each distinct one (at most 128).
 */
export function parentOrLinks(
  contexts: Iterable<SpanContext>,
  base: Context = ROOT_CONTEXT,
): { parent: Context; links: Link[] } {
  const distinct = new Map<string, SpanContext>();
  for (const sc of contexts) {
    const id = `${sc.traceId}-${sc.spanId}`;
    if (!distinct.has(id) && distinct.size < MAX_LINKS) distinct.set(id, sc);
  }
  const found = [...distinct.values()];
  if (found.length === 1) return { parent: trace.setSpanContext(base, found[0]!), links: [] };
  return { parent: base, links: found.map((c) => ({ context: c })) };
}

/**
 * Where a batch's process span belongs: the parentOrLinks of the contexts its records'
 * headers carry. Untraced records contribute nothing.
 */
export function batchParent(
  records: Iterable<{ headers?: KafkaHeaders }>,
  base: Context = ROOT_CONTEXT,
): { parent: Context; links: Link[] } {
  const seen = new Map<string, KafkaHeaders>();
  for (const r of records) {
    const tp = first(r.headers?.[TRACEPARENT]);
    if (tp && !seen.has(tp) && seen.size < MAX_LINKS) seen.set(tp, r.headers!);
  }
  const contexts: SpanContext[] = [];
  for (const headers of seen.values()) {
    const sc = spanContextOfKafkaHeaders(headers);
    if (sc) contexts.push(sc);
  }
  return parentOrLinks(contexts, base);
}

/** Adds `ctx`'s trace context (the active span's by default) to gRPC call metadata, in place. */
export function injectGrpcMetadata<M extends GrpcMetadataLike>(metadata: M, ctx: Context = context.active()): M {
  propagator.inject(ctx, metadata, grpcSetter);
  return metadata;
}

/** The caller's context from a gRPC call's metadata (server side), on top of `base`. */
export function extractGrpcContext(metadata: GrpcMetadataLike, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, metadata, grpcGetter);
}

/**
 * The W3C traceparent of a span this process records (sampled), for a per-message field
 * such as CarrierMessage.trace_parent; undefined when telemetry is off or the span is not
 * sampled, so callers add nothing then. (tracestate does not travel in such fields.)
 */
export function recordedTraceParent(span: Span): string | undefined {
  if (!span.isRecording()) return undefined;
  const sc = span.spanContext();
  if ((sc.traceFlags & TraceFlags.SAMPLED) === 0 || !trace.isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`;
}

/** The remote span context a traceparent string names, if it is a valid one. */
export function spanContextOfTraceParent(traceParent: string): SpanContext | undefined {
  if (!traceParent) return undefined;
  const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, { [TRACEPARENT]: traceParent }, kafkaGetter));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}
