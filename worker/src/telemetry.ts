// The worker's metrics and spans. Instrumented code calls these one-liners; they use the
// OpenTelemetry API, which is a no-op until the process calls startTelemetry (main.ts).
// Labels are campaign, channel, carrier, result and reason: never a number or a name.
import { metrics, trace, type Span, type SpanContext } from '@opentelemetry/api';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { CARRIER_GATEWAY_SERVICE_NAME, CarrierMessage, Channel, ResultCode } from '@anshim/proto';
import type { CarrierId } from '@anshim/core';
import {
  ATTR,
  batchParent,
  grpcSpan,
  hotCounter,
  hotHistogram,
  inSpan,
  injectKafkaHeaders,
  kafkaProcessSpan,
  kafkaSendSpan,
  markFailed,
  observedGauge,
  parentOrLinks,
  recordedTraceParent,
  spanContextOfTraceParent,
} from '@anshim/telemetry';
import type { DispatchOutcome } from './dispatch-outcome.ts';
import type { PreparePool } from './pool.ts';
import type { PreparedMessage } from './prepare.ts';
import { CAMPAIGN_HEADER, TOPICS } from '@anshim/api';

const SCOPE = '@anshim/worker';
// A proxy: it becomes the real tracer once startTelemetry registers a provider.
const tracer = trace.getTracer(SCOPE);

/** Produce→ack latency buckets (seconds): transactional sends sit at the low end, drained backlogs at the high. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const messages = hotCounter('anshim_worker_messages_total', {
  description:
    'Carrier answers to submitted messages: ACCEPTED, DUPLICATE (a replay the carrier already had), a rejection ResultCode, or GAVE_UP after retries',
  labels: ['campaign', 'channel', 'carrier', 'result'],
});
const ackLatency = hotHistogram('anshim_worker_ack_latency_seconds', {
  description: 'From the gateway enqueuing a record to the carrier accepting it',
  unit: 's',
  labels: ['campaign', 'channel', 'carrier'],
  buckets: LATENCY_BUCKETS,
});
const consumed = hotCounter('anshim_worker_records_consumed_total', {
  description: 'Campaign records taken from Kafka (rate() of it is the worker throughput)',
  labels: ['campaign'],
});
const fallbacks = hotCounter('anshim_worker_fallbacks_total', {
  description: 'Messages re-sent on the next channel of the fallback chain, by the channel that refused and why',
  labels: ['campaign', 'channel', 'result'],
});
const deadLetters = hotCounter('anshim_worker_dead_letters_total', {
  description: 'Records written to the dead-letter topic, by reason',
  labels: ['campaign', 'reason'],
});
const reports = hotCounter('anshim_worker_delivery_reports_total', {
  description: 'Final delivery results reported by carriers, by ResultCode',
  labels: ['campaign', 'channel', 'carrier', 'result'],
});

const channelName = (c: Channel): string => Channel[c] ?? 'CHANNEL_UNSPECIFIED';
const resultName = (r: ResultCode): string => ResultCode[r] ?? 'RESULT_UNSPECIFIED';

export const recordConsumed = (campaignId: string, n: number): void => consumed.add(n, { campaign: campaignId });

export const recordDeadLetter = (campaignId: string, reason: string): void =>
  deadLetters.add(1, { campaign: campaignId, reason });

type Bound = { add(n: number): void };

/** The series one (campaign, channel, carrier) records into, bound once: per message it is a few Map reads. */
class DispatchSeries {
  readonly accepted: Bound;
  readonly duplicate: Bound;
  readonly gaveUp: Bound;
  readonly latency: { record(seconds: number): void };
  private readonly rejected = new Map<ResultCode, Bound>();
  private readonly fellBack = new Map<ResultCode, Bound>();
  private readonly reported = new Map<ResultCode, Bound>();
  private readonly labels: { campaign: string; channel: string; carrier: string };

  constructor(campaign: string, channel: string, carrier: string) {
    const labels = { campaign, channel, carrier };
    this.labels = labels;
    this.accepted = messages.bind({ ...labels, result: 'ACCEPTED' });
    this.duplicate = messages.bind({ ...labels, result: 'DUPLICATE' });
    this.gaveUp = messages.bind({ ...labels, result: 'GAVE_UP' });
    this.latency = ackLatency.bind(labels);
  }

  private memo(cache: Map<ResultCode, Bound>, result: ResultCode, bind: (result: string) => Bound): Bound {
    let b = cache.get(result);
    if (!b) cache.set(result, (b = bind(resultName(result))));
    return b;
  }

  rejectedAs = (r: ResultCode): Bound =>
    this.memo(this.rejected, r, (result) => messages.bind({ ...this.labels, result }));
  reportedAs = (r: ResultCode): Bound =>
    this.memo(this.reported, r, (result) => reports.bind({ ...this.labels, result }));
  fallbackAfter = (r: ResultCode): Bound =>
    this.memo(this.fellBack, r, (result) =>
      fallbacks.bind({ campaign: this.labels.campaign, channel: this.labels.channel, result }),
    );
}

const dispatchSeries = new Map<string, Map<Channel, Map<string, DispatchSeries>>>();

function seriesOf(campaignId: string, channel: Channel, carrier: string): DispatchSeries {
  let byChannel = dispatchSeries.get(campaignId);
  if (!byChannel) dispatchSeries.set(campaignId, (byChannel = new Map()));
  let byCarrier = byChannel.get(channel);
  if (!byCarrier) byChannel.set(channel, (byCarrier = new Map()));
  let s = byCarrier.get(carrier);
  if (!s) byCarrier.set(carrier, (s = new DispatchSeries(campaignId, channelName(channel), carrier)));
  return s;
}

/** One message's dispatch outcome; `fallsBack` when it will be re-sent on the next channel. */
export function recordDispatch(
  msg: PreparedMessage,
  outcome: DispatchOutcome,
  ackedAtMs: number,
  fallsBack: boolean,
): void {
  const s = seriesOf(msg.campaignId, msg.channel, msg.carrier);
  if (outcome.kind === 'accepted') {
    (outcome.duplicate ? s.duplicate : s.accepted).add(1);
    if (msg.enqueuedAtMs > 0) s.latency.record(Math.max(0, ackedAtMs - msg.enqueuedAtMs) / 1000);
  } else if (outcome.kind === 'rejected') {
    s.rejectedAs(outcome.result).add(1);
    if (fallsBack) s.fallbackAfter(outcome.result).add(1);
  } else s.gaveUp.add(1);
}

/** A carrier's delivery report (one per message, at the same rate as dispatch). */
export function recordReport(r: { campaignId: string; channel: Channel; carrier: string; result: ResultCode }): void {
  seriesOf(r.campaignId, r.channel, r.carrier).reportedAs(r.result).add(1);
}

/** Pool gauges, read at each scrape; close() when the pool goes. */
export function observePool(pool: PreparePool): { close(): void } {
  const meter = metrics.getMeter(SCOPE);
  const gauges = [
    observedGauge(
      meter,
      'anshim_worker_pool_utilization',
      { description: 'Share of the piscina pool’s capacity spent running tasks (0–1)' },
      () => pool.utilization,
    ),
    observedGauge(
      meter,
      'anshim_worker_pool_queue_size',
      { description: 'Chunks waiting for a pool thread' },
      () => pool.queueSize,
    ),
    observedGauge(meter, 'anshim_worker_pool_threads', { description: 'Pool threads' }, () => pool.threads),
  ];
  return { close: () => gauges.forEach((g) => g.close()) };
}

/**
 * A `process` span around one fetched Kafka batch, child of the producer's span when the
 * records carry one traceparent, linked to each when they carry several.
 */
export function traceBatch<T>(
  batch: { topic: string; partition: number; messages: KafkaMessage[] },
  consumerGroup: string,
  fn: () => Promise<T>,
): Promise<T> {
  const { parent, links } = batchParent(batch.messages);
  const campaign = batch.messages[0]?.headers?.[CAMPAIGN_HEADER]?.toString();
  const spec = kafkaProcessSpan({
    topic: batch.topic,
    partition: batch.partition,
    messageCount: batch.messages.length,
    consumerGroup,
    extra: campaign ? { [ATTR.campaign]: campaign } : {},
  });
  return inSpan(tracer, spec, fn, { parent, links });
}

/**
 * A client span around one SubmitRequest to a carrier (RPC conventions). When the span is
 * sampled, `fn` gets the span's context as an encoded CarrierMessage.trace_parent field to
 * append to each (already encoded) frame, so the carrier's report can continue the trace;
 * otherwise undefined, and the frames go out as they are.
 */
export function traceCarrierSubmit<T>(
  carrier: CarrierId,
  address: string,
  count: number,
  fn: (traceTrailer: Uint8Array | undefined) => Promise<T>,
): Promise<T> {
  const spec = grpcSpan('client', CARRIER_GATEWAY_SERVICE_NAME, 'Submit', address, {
    [ATTR.carrier]: carrier,
    [ATTR.carrierBatchCount]: count,
  });
  return inSpan(tracer, spec, (span) => {
    const traceParent = recordedTraceParent(span);
    return fn(traceParent === undefined ? undefined : CarrierMessage.encode({ traceParent }).finish());
  });
}

let lastTraceParent = '';
let lastReportContext: SpanContext | undefined;

/** The span context a carrier report carries (reports of one Submit share one: the last is kept). */
export function reportTraceContext(traceParent: string): SpanContext | undefined {
  if (traceParent !== lastTraceParent) {
    lastTraceParent = traceParent;
    lastReportContext = spanContextOfTraceParent(traceParent);
  }
  return lastReportContext;
}

/** Distinct contexts kept per campaign record (parentOrLinks links at most 128). */
const MAX_REPORT_CONTEXTS = 128;

/**
 * The `send anshim.reports` spans of the reports a carrier traced: one per campaign record
 * per flush, the child of the one context its reports carry or linked to each (messaging
 * conventions for batches), its own context in the record's headers. Untraced reports
 * cost a Map lookup per record.
 */
export class ReportSendTraces {
  private readonly contexts = new Map<string, SpanContext[]>();
  private started: Span[] = [];

  note(campaignId: string, sc: SpanContext): void {
    const list = this.contexts.get(campaignId);
    if (!list) this.contexts.set(campaignId, [sc]);
    else if (list.length < MAX_REPORT_CONTEXTS && list[list.length - 1]!.spanId !== sc.spanId) list.push(sc);
  }

  /** Starts the span of a campaign's record about to be sent and returns its headers; undefined when untraced. */
  headersFor(campaignId: string, reports: number): IHeaders | undefined {
    const contexts = this.contexts.get(campaignId);
    if (!contexts) return undefined;
    this.contexts.delete(campaignId);
    const { parent, links } = parentOrLinks(contexts);
    const spec = kafkaSendSpan(TOPICS.reports, reports, { [ATTR.campaign]: campaignId });
    const span = tracer.startSpan(spec.name, { kind: spec.kind, attributes: spec.attributes, links }, parent);
    this.started.push(span);
    return injectKafkaHeaders({}, trace.setSpan(parent, span));
  }

  /** Ends the spans started since the last call once `sent` settles (failed if it rejects). */
  endWhen(sent: Promise<void>): void {
    if (this.started.length === 0) return;
    const spans = this.started;
    this.started = [];
    sent.then(
      () => spans.forEach((s) => s.end()),
      (err: unknown) =>
        spans.forEach((s) => {
          markFailed(s, err);
          s.end();
        }),
    );
  }
}
