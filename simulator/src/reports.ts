// Delivery reports: produced after the delivery delay, held (bounded) until a Reports
// subscriber can take them, written with backpressure. Each report goes to exactly one
// subscriber whose campaign filter matches (round robin), like a carrier's report link.
import type * as grpc from '@grpc/grpc-js';
import type { Channel, IDeliveryReport, IReportBatch, ReportsRequest, ResultCode } from '@anshim/proto';

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

/** Reports per ReportBatch message on a batched subscription. */
const REPORTS_PER_BATCH = 500;

interface Subscriber {
  call: ReportsCall | ReportBatchesCall;
  /** Subscribed through ReportBatches: reports go out grouped, one write per batch. */
  batched: boolean;
  /** Empty = all campaigns. */
  campaigns: ReadonlySet<string>;
  blocked: boolean;
}

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
  /** Reports held at most (scheduled + ready); beyond it the oldest ready ones are dropped. */
  maxBuffered: number;
  /** Called when a report is produced (due), to settle the ledger. */
  onProduced(report: PendingReport): void;
  onDropped(count: number): void;
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

  constructor(private readonly options: ReportHubOptions) {}

  get buffered(): number {
    return this.scheduled.length + this.ready.length + this.unclaimed.length;
  }

  get subscriberCount(): number {
    return this.subscribers.length;
  }

  /** Queues a report for `report.dueAt`. Callers schedule with a constant delay, so the FIFO stays time-ordered. */
  schedule(report: PendingReport): void {
    if (this.closed) return;
    if (this.buffered >= this.options.maxBuffered) this.dropOldest();
    this.scheduled.push(report);
    this.armTimer(report.dueAt);
  }

  /** A report whose result is known at acceptance (ported, too long …): produced at once. */
  produceNow(report: PendingReport): void {
    if (this.closed) return;
    if (this.buffered >= this.options.maxBuffered) this.dropOldest();
    this.options.onProduced(report);
    this.ready.push(report);
    this.queueFlush();
  }

  subscribe(call: ReportsCall | ReportBatchesCall, batched = false): void {
    const subscriber: Subscriber = {
      call,
      batched,
      campaigns: new Set(call.request.campaignIds ?? []),
      blocked: false,
    };
    this.subscribers.push(subscriber);
    const leave = () => {
      const at = this.subscribers.indexOf(subscriber);
      if (at >= 0) this.subscribers.splice(at, 1);
    };
    call.on('cancelled', leave);
    call.on('close', leave);
    call.on('error', leave);
    call.on('drain', () => {
      subscriber.blocked = false;
      this.queueFlush();
    });
    if (this.unclaimed.length > 0) {
      // Put the held reports back in front, in order, for the new subscriber to claim.
      const held = this.unclaimed;
      this.unclaimed = [];
      const rest = this.ready.drain();
      for (const r of held) this.ready.push(r);
      for (const r of rest) this.ready.push(r);
    }
    this.queueFlush();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subscribers.splice(0)) s.call.end();
  }

  private dropOldest(): void {
    let victim = this.unclaimed.shift() ?? this.ready.shift();
    if (victim === undefined) {
      victim = this.scheduled.shift();
      // Never produced yet: settle the ledger so "pending" does not wait for it forever.
      if (victim !== undefined) this.options.onProduced(victim);
    }
    if (victim !== undefined) this.options.onDropped(1);
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
      if (s.blocked) {
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
    const batches = new Map<Subscriber, IDeliveryReport[]>();
    const sendBatch = (s: Subscriber, reports: IDeliveryReport[]): void => {
      batches.delete(s);
      writes++;
      if (!(s.call as ReportBatchesCall).write({ reports })) s.blocked = true;
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
      const wire = toWire(report, this.options.carrier);
      if (target.batched) {
        const list = batches.get(target) ?? [];
        list.push(wire);
        batches.set(target, list);
        if (list.length >= REPORTS_PER_BATCH) sendBatch(target, list);
      } else {
        writes++;
        if (!(target.call as ReportsCall).write(wire)) target.blocked = true;
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
