// The carrier's side of a traced Submit: a worker appends its Submit span's context to each
// CarrierMessage (trace_parent) when that span is sampled. The simulator continues it in a
// server span when it records spans itself (ANSHIM_TRACE_FILE / OTEL_EXPORTER_OTLP_ENDPOINT),
// and hands the context on to the batch's delivery reports either way.
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { CARRIER_GATEWAY_SERVICE_NAME, type CarrierMessage } from '@anshim/proto';
import { ATTR, grpcSpan, recordedTraceParent, spanContextOfTraceParent } from '@anshim/telemetry';

// A proxy: it becomes the real tracer once main.ts starts telemetry.
const tracer = trace.getTracer('@anshim/simulator');

/**
 * Runs one Submit batch's door logic. When the batch's messages carry a trace_parent (one
 * per SubmitRequest: the first message's is taken), inside a server span that is its
 * child; `fn` gets the traceparent the batch's reports carry: that span's when this
 * process records it, the worker's as it came otherwise. Untraced batches: `fn('')`.
 */
export function traceSubmitBatch<T>(
  carrier: string,
  messages: readonly CarrierMessage[],
  fn: (traceParent: string) => T,
): T {
  const incoming = messages[0]?.traceParent;
  const parent = incoming ? spanContextOfTraceParent(incoming) : undefined;
  if (!incoming || !parent) return fn('');
  const spec = grpcSpan('server', CARRIER_GATEWAY_SERVICE_NAME, 'Submit', undefined, {
    [ATTR.carrier]: carrier,
    [ATTR.carrierBatchCount]: messages.length,
  });
  const span = tracer.startSpan(
    spec.name,
    { kind: spec.kind, attributes: spec.attributes },
    trace.setSpanContext(ROOT_CONTEXT, parent),
  );
  try {
    return fn(recordedTraceParent(span) ?? incoming);
  } finally {
    span.end();
  }
}
