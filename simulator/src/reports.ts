// Delivery reports: produced after the delivery delay, held until a Reports subscriber can
// take them, written with backpressure. Each report goes to exactly one subscriber whose
// campaign filter matches (round robin), like a carrier's report link. On AckedReports a
// batch stays held until the subscriber acknowledges it, and goes back to the head of the
// queue for the next subscriber if the stream ends first: at least once, as SMPP's
// deliver_sm_resp gives. The hub never drops a report; the desk stops accepting messages
// while the hub is full (see CarrierDesk.submitOne).
import type * as grpc from '@grpc/grpc-js';
import type { Channel, IDeliveryReport, IReportBatch, ReportsAck, ReportsRequest, ResultCode } from '@anshim/proto';

/** The compact form kept while a report waits; the wire object is built at write time. */
export interface PendingReport {
  messageId: string;
  campaignId: string;
  idempotencyKey: string;
  channel: Channel;
  result: ResultCode;
  submittedAtMs: number;
  attempt: number;
  /** When the report is produced (ms, Date.now clock). */
  dueAt: number;
  /** The W3C traceparent the report continues ('' when the message was not traced). */
  traceParent: string;
}

type ReportsCall = grpc.ServerWritableStream<ReportsRequest, IDeliveryReport>;
type ReportBatchesCall = grpc.ServerWritableStream<ReportsRequest, IReportBatch>;
type AckedReportsCall = grpc.ServerDuplexStream<ReportsAck, IReportBatch>;

/** Reports per ReportBatch message on a batched subscription. */
const REPORTS_PER_BATCH = 500;
/** Unacknowledged batches an AckedReports stream may hold before the hub waits for its acks. */
export const ACK_WINDOW_BATCHES = 16;

interface Subscriber {
  call: ReportsCall | ReportBatchesCall | AckedReportsCall;
  /** Subscribed through ReportBatches or AckedReports: reports go out grouped, one write per batch. */
  batched: boolean;
  /** AckedReports: the batches written and not yet acknowledged, by sequence. */
  unacked?: Map<number, PendingReport[]>;
  nextSequence: number;
  /** Empty = all campaigns. */
  campaigns: ReadonlySet<string>;
  /** The stream's buffer is full (resumes on 'drain'). */
  blocked: boolean;
}

/** Cannot take another report now: its stream buffer is full or its ack window is. */
const isBlocked = (s: Subscriber): boolean =>
  s.blocked || (s.unacked !== undefined && s.unacked.size >= ACK_WINDOW_BATCHES);

/** Reports written per turn of the event loop, so Submit keeps getting served while a backlog drains. */
const WRITES_PER_TURN = 2048;

/** A FIFO over an array with a moving head; compacts when the dead prefix dominates. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined as T;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

export interface ReportHubOptions {
  carrier: string;
  /** Called when a report is produced (due), to settle the ledger. */
  onProduced(report: PendingReport): void;
  /** Reports acknowledged on an AckedReports stream. */
  onAcked(count: number): void;
  /** Reports written on an AckedReports stream that ended before acknowledging them: offered again. */
  onRedelivered(count: number): void;
}

export class ReportHub {
  private readonly scheduled = new Fifo<PendingReport>();
  private readonly ready = new Fifo<PendingReport>();
  /** Ready reports no current subscriber's filter matches; re-offered when one subscribes. */
  private unclaimed: PendingReport[] = [];
  private readonly subscribers: Subscriber[] = [];
  private nextSubscriber = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private flushQueued = false;
  private closed = false;

  /** Unacknowledged reports on AckedReports streams: held until acked or offered again. */
  private unackedCount = 0;

  constructor(private readonly options: ReportHubOptions) {}

  /** Reports the hub holds: scheduled, ready, unclaimed or written and not yet acknowledged. */
  get buffered(): number {
    return this.scheduled.length + this.ready.length + this.unclaimed.length + this.unackedCount;
  }

  get unacknowledged(): number {
    return this.unackedCount;
  }

  get subscriberCount(): number {
    return this.subscribers.length;
  }

  /** Queues a report for `report.dueAt`. Callers schedule with a constant delay, so the FIFO stays time-ordered. */
  schedule(report: PendingReport): void {
    if (this.closed) return;
    this.scheduled.push(report);
    this.armTimer(report.dueAt);
  }

  /** A report whose result is known at acceptance (ported, too long …): produced at once. */
  produceNow(report: PendingReport): void {
    if (this.closed) return;
    this.options.onProduced(report);
    this.ready.push(report);
    this.queueFlush();
  }

  subscribe(call: ReportsCall | ReportBatchesCall, batched = false): void {
    this.join(call, { batched, campaigns: call.request.campaignIds ?? [] });
  }

  /**
   * An AckedReports stream: its first message subscribes, later ones acknowledge batches.
   * Whatever it has not acknowledged when it ends is offered to the next subscriber.
   */
  subscribeAcked(call: AckedReportsCall): void {
    let subscriber: Subscriber | undefined;
    call.on('data', (message: ReportsAck) => {
      if (subscriber === undefined) {
        subscriber = this.join(call, { batched: true, acked: true, campaigns: message.subscribe?.campaignIds ?? [] });
        return;
      }
      this.acknowledge(subscriber, message.sequences);
    });
    // The client half-closed: it acknowledges nothing more, so nothing more is sent to it.
    call.on('end', () => call.end());
  }

  private join(
    call: Subscriber['call'],
    opts: { batched: boolean; acked?: boolean; campaigns: readonly string[] },
  ): Subscriber {
    const subscriber: Subscriber = {
      call,
      batched: opts.batched,
      nextSequence: 1,
      campaigns: new Set(opts.campaigns),
      blocked: false,
    };
    if (opts.acked) subscriber.unacked = new Map();
    this.subscribers.push(subscriber);
    const leave = () => {
      const at = this.subscribers.indexOf(subscriber);
      if (at < 0) return;
      this.subscribers.splice(at, 1);
      this.requeueUnacked(subscriber);
    };
    call.on('cancelled', leave);
    call.on('close', leave);
    call.on('error', leave);
    call.on('finish', leave);
    call.on('drain', () => {
      subscriber.blocked = false;
      this.queueFlush();
    });
    this.reofferUnclaimed();
    this.queueFlush();
    return subscriber;
  }

  private acknowledge(subscriber: Subscriber, sequences: readonly number[]): void {
    const unacked = subscriber.unacked;
    if (unacked === undefined) return;
    const wasFull = isBlocked(subscriber);
    let count = 0;
    for (const sequence of sequences) {
      const batch = unacked.get(sequence);
      if (batch === undefined) continue; // unknown or acknowledged already: acks are idempotent
      unacked.delete(sequence);
      count += batch.length;
    }
    this.unackedCount -= count;
    this.options.onAcked(count);
    if (wasFull && !isBlocked(subscriber)) this.queueFlush();
  }

  /** A departed subscriber's unacknowledged batches go back to the head of the queue, in order. */
  private requeueUnacked(subscriber: Subscriber): void {
    const unacked = subscriber.unacked;
    if (unacked === undefined || unacked.size === 0) return;
    const again: PendingReport[] = [];
    for (const sequence of [...unacked.keys()].sort((a, b) => a - b)) again.push(...(unacked.get(sequence) ?? []));
    unacked.clear();
    this.unackedCount -= again.length;
    this.options.onRedelivered(again.length);
    this.putInFront(again);
    if (!this.closed) this.queueFlush();
  }

  /** Ready reports no subscriber's filter matched: back in front, in order, for a new subscriber to claim. */
  private reofferUnclaimed(): void {
    if (this.unclaimed.length === 0) return;
    const held = this.unclaimed;
    this.unclaimed = [];
    this.putInFront(held);
  }

  /** Puts `reports` at the head of the ready queue, in their order, ahead of what is ready now. */
  private putInFront(reports: readonly PendingReport[]): void {
    const rest = this.ready.drain();
    for (const r of reports) this.ready.push(r);
    for (const r of rest) this.ready.push(r);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subscribers.splice(0)) s.call.end();
  }

  private armTimer(dueAt: number): void {
    if (this.timer !== undefined && this.timerDueAt <= dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => this.produceDue(), Math.max(0, dueAt - Date.now()));
  }

  private produceDue(): void {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    const now = Date.now();
    let next: PendingReport | undefined;
    while ((next = this.scheduled.peek()) !== undefined && next.dueAt <= now) {
      this.scheduled.shift();
      this.options.onProduced(next);
      this.ready.push(next);
    }
    if (next !== undefined) this.armTimer(next.dueAt);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private pick(campaignId: string): Subscriber | 'blocked' | undefined {
    const n = this.subscribers.length;
    let sawBlocked = false;
    for (let i = 0; i < n; i++) {
      const s = this.subscribers[(this.nextSubscriber + i) % n] as Subscriber;
      if (s.campaigns.size > 0 && !s.campaigns.has(campaignId)) continue;
      if (isBlocked(s)) {
        sawBlocked = true;
        continue;
      }
      this.nextSubscriber = (this.nextSubscriber + i + 1) % n;
      return s;
    }
    return sawBlocked ? 'blocked' : undefined;
  }

  private flush(): void {
    if (this.subscribers.length === 0) return;
    let writes = 0;
    let stalled = false;
    let report: PendingReport | undefined;
    const batches = new Map<Subscriber, PendingReport[]>();
    const sendBatch = (s: Subscriber, pending: PendingReport[]): void => {
      batches.delete(s);
      writes++;
      const reports = pending.map((r) => toWire(r, this.options.carrier));
      let batch: IReportBatch = { reports };
      if (s.unacked !== undefined) {
        const sequence = s.nextSequence++;
        s.unacked.set(sequence, pending);
        this.unackedCount += pending.length;
        batch = { reports, sequence };
      }
      if (!(s.call as ReportBatchesCall).write(batch)) s.blocked = true;
    };
    while (writes < WRITES_PER_TURN && (report = this.ready.peek()) !== undefined) {
      const target = this.pick(report.campaignId);
      if (target === 'blocked') {
        stalled = true; // resumes on 'drain'; order is kept
        break;
      }
      this.ready.shift();
      if (target === undefined) {
        this.unclaimed.push(report);
        continue;
      }
      if (target.batched) {
        const list = batches.get(target) ?? [];
        list.push(report);
        batches.set(target, list);
        if (list.length >= REPORTS_PER_BATCH) sendBatch(target, list);
      } else {
        writes++;
        if (!(target.call as ReportsCall).write(toWire(report, this.options.carrier))) target.blocked = true;
      }
    }
    for (const [s, list] of batches) sendBatch(s, list);
    if (!stalled && this.ready.length > 0) this.queueFlush();
  }
}

function toWire(r: PendingReport, carrier: string): IDeliveryReport {
  const wire: IDeliveryReport = {
    messageId: r.messageId,
    campaignId: r.campaignId,
    channel: r.channel,
    carrier,
    result: r.result,
    submittedAtMs: r.submittedAtMs,
    reportedAtMs: Date.now(),
    attempt: r.attempt,
    idempotencyKey: r.idempotencyKey,
  };
  if (r.traceParent) wire.traceParent = r.traceParent;
  return wire;
}
