// @anshim/telemetry: OpenTelemetry for every Anshim process, with personal data kept out.
export { startTelemetry, telemetryOptionsFromEnv, type Telemetry, type TelemetryOptions } from './start.ts';
export {
  injectKafkaHeaders,
  extractKafkaContext,
  extractHttpContext,
  spanContextOfKafkaHeaders,
  batchParent,
  parentOrLinks,
  recordedTraceParent,
  spanContextOfTraceParent,
  injectGrpcMetadata,
  extractGrpcContext,
  TRACEPARENT,
  type KafkaHeaders,
  type GrpcMetadataLike,
} from './propagation.ts';
export {
  ATTR,
  SPAN_ATTRIBUTE_KEYS,
  spanFamilyOf,
  kafkaSendSpan,
  kafkaProcessSpan,
  grpcSpan,
  httpServerSpan,
  type SpanSpec,
  type SpanFamily,
} from './conventions.ts';
export { inSpan, markFailed } from './spans.ts';
export { guardAttributes, guardValue, isSafeValue, refusalOf, REDACTED, type RefusalReason } from './guard.ts';
export {
  guardedCounter,
  guardedHistogram,
  guardedGauge,
  observedGauge,
  type GuardedCounter,
  type GuardedHistogram,
  type GuardedGauge,
  type Labels,
} from './instruments.ts';
export { hotCounter, hotHistogram, type HotCounter, type HotHistogram } from './hot-instruments.ts';
export {
  GuardedSpanExporter,
  JsonLinesSpanExporter,
  sanitizeSpan,
  toSpanRecord,
  readSpanFile,
  type SpanRecord,
} from './span-export.ts';
