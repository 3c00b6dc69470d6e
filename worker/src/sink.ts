import type { SpanContext } from '@opentelemetry/api';
import type { Message, Producer } from 'kafkajs';
import { encodeReportBatchRecord, type OutgoingReport } from './report-frames.ts';
import { ReportSendTraces } from './telemetry.ts';
import { TOPICS } from '@anshim/api';

/**
 * Coalesces small sends into few produce requests (reports arrive one by one at tens of
 * thousands a second). `flush()` resolves once everything queued so far is acknowledged.
 */
export class BatchingSink {
  private queue = new Map<string, Message[]>();
  /** Reports waiting to be gathered into one ReportBatchRecord per campaign. */
  private reports = new Map<string, OutgoingReport[]>();
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly traces = new ReportSendTraces();

  constructor(
    private readonly producer: Producer,
    /** Written into every ReportRecord this sink publishes. */
    private readonly workerId: string,
    private readonly opts: { lingerMs: number; maxBatch: number } = { lingerMs: 20, maxBatch: 2000 },
  ) {}

  push(topic: string, messages: Message[]): void {
    if (messages.length === 0) return;
    const list = this.queue.get(topic);
    if (list) list.push(...messages);
    else this.queue.set(topic, [...messages]);
    this.queued += messages.length;
    if (this.queued >= this.opts.maxBatch) void this.flush().catch(() => undefined);
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.opts.lingerMs);
  }

  /** Queues a delivery report; reports of one campaign leave together as one Kafka record (traced when `trace` is given). */
  pushReport(campaignId: string, report: OutgoingReport, trace?: SpanContext): void {
    const list = this.reports.get(campaignId);
    if (list) list.push(report);
    else this.reports.set(campaignId, [report]);
    if (trace) this.traces.note(campaignId, trace);
    this.queued++;
    if (this.queued >= this.opts.maxBatch) void this.flush().catch(() => undefined);
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.opts.lingerMs);
  }

  /** Sends what is queued; rejects if the broker refuses it (the caller must not commit then). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.reports.size > 0) {
      const batches: Message[] = [...this.reports].map(([campaignId, reports]) => ({
        key: campaignId,
        value: encodeReportBatchRecord(this.workerId, reports),
        headers: this.traces.headersFor(campaignId, reports.length),
      }));
      this.reports = new Map();
      const list = this.queue.get(TOPICS.reports);
      if (list) list.push(...batches);
      else this.queue.set(TOPICS.reports, batches);
    }
    if (this.queued === 0) return this.inFlight;
    const topicMessages = [...this.queue].map(([topic, messages]) => ({ topic, messages }));
    this.queue = new Map();
    this.queued = 0;
    const previous = this.inFlight;
    const send = previous
      .catch(() => undefined)
      .then(() => this.producer.sendBatch({ topicMessages, acks: -1 }).then(() => undefined));
    this.inFlight = send;
    this.traces.endWhen(send);
    return send;
  }
}
