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
  /** A size-triggered flush is waiting: while Kafka refuses, more pushes do not stack up more. */
  private backgroundPending = false;
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
    this.schedule();
  }

  private schedule(): void {
    if (this.queued >= this.opts.maxBatch) {
      if (this.backgroundPending) return;
      this.backgroundPending = true;
      // A failure is not lost: its messages go back in the queue for the next flush (drain).
      void this.flush()
        .finally(() => (this.backgroundPending = false))
        .catch(() => undefined);
    } else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.opts.lingerMs);
  }

  /** Queues a delivery report; reports of one campaign leave together as one Kafka record (traced when `trace` is given). */
  pushReport(campaignId: string, report: OutgoingReport, trace?: SpanContext): void {
    const list = this.reports.get(campaignId);
    if (list) list.push(report);
    else this.reports.set(campaignId, [report]);
    if (trace) this.traces.note(campaignId, trace);
    this.queued++;
    this.schedule();
  }

  /**
   * Resolves once everything queued before this call is acknowledged; rejects if the broker
   * refuses it (the caller must not commit then). A failed send puts its messages back at the
   * head of the queue, and each flush drains whatever is queued when its turn comes — so a
   * flush that resolves covers every message pushed before it, including those of an earlier
   * background flush that failed: nothing is committed past a lost report, dead letter or hold
   * transfer.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.inFlight.catch(() => undefined).then(() => this.drain());
    this.inFlight = run;
    this.traces.endWhen(run);
    return run;
  }

  private async drain(): Promise<void> {
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
    if (this.queued === 0) return;
    const taken = this.queue;
    const count = this.queued;
    this.queue = new Map();
    this.queued = 0;
    try {
      await this.producer.sendBatch({
        topicMessages: [...taken].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
      });
    } catch (err) {
      // Back at the head, in order, ahead of anything pushed meanwhile: the next flush sends them.
      for (const [topic, messages] of this.queue) taken.set(topic, [...(taken.get(topic) ?? []), ...messages]);
      this.queue = taken;
      this.queued += count;
      throw err;
    }
  }
}
