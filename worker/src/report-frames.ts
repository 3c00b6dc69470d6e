// Delivery reports pass through the worker as bytes: a carrier's ReportBatch is scanned for
// the few fields the worker counts by, and each DeliveryReport is copied as is into the
// ReportBatchRecord it publishes. Decoding into objects and re-encoding them cost a fifth
// of the worker's main thread at full rate. The layouts are carrier.proto and records.proto.
import { Channel, RECORD_SCHEMA_VERSION, ResultCode } from '@anshim/proto';
import { varintSize, writeVarint } from './wire.ts';

/** A carrier sent report bytes that are not a ReportBatch. */
export class ReportFrameError extends Error {
  override readonly name = 'ReportFrameError';
}

/** What the worker reads from one DeliveryReport; `bytes` is the report itself, unparsed. */
export interface ReportView {
  bytes: Uint8Array;
  campaignId: string;
  channel: Channel;
  carrier: string;
  result: ResultCode;
  /** 0 for a primary attempt, n for the n-th fallback (from the idempotency key's `#fallback<n>`). */
  fallbackStep: number;
  /** W3C traceparent of the message when its send was traced ('' otherwise). */
  traceParent: string;
}

// The scanner's position: module state instead of a reader object per report (hot path).
let pos = 0;

function varint(buf: Buffer, end: number): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= end) throw new ReportFrameError('truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
    if (scale > 2 ** 63) throw new ReportFrameError('varint too long');
  }
}

/** Skips a field's value; a length-delimited one leaves its bounds in `fieldStart`/`pos`. */
let fieldStart = 0;
function skip(buf: Buffer, end: number, wireType: number): void {
  switch (wireType) {
    case 0:
      varint(buf, end);
      return;
    case 1:
      pos += 8;
      break;
    case 2: {
      const n = varint(buf, end);
      fieldStart = pos;
      pos += n;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new ReportFrameError(`wire type ${wireType}`);
  }
  if (pos > end) throw new ReportFrameError('truncated field');
}

const FALLBACK_MARK = Buffer.from('#fallback');

/** n from an idempotency key ending in `#fallback<n>`, else 0; reads bytes, makes no string. */
function fallbackStepOf(buf: Buffer, start: number, end: number): number {
  let i = end;
  let step = 0;
  let scale = 1;
  while (i > start && buf[i - 1]! >= 0x30 && buf[i - 1]! <= 0x39) {
    step += (buf[--i]! - 0x30) * scale;
    scale *= 10;
  }
  if (i === end || i - start < FALLBACK_MARK.length) return 0;
  return buf.compare(FALLBACK_MARK, 0, FALLBACK_MARK.length, i - FALLBACK_MARK.length, i) === 0 ? step : 0;
}

/** One string per distinct value: a batch repeats its campaign and carrier in every report. */
class Interned {
  private bytes = Buffer.alloc(0);
  private value = '';

  of(buf: Buffer, start: number, end: number): string {
    if (end - start !== this.bytes.length || buf.compare(this.bytes, 0, this.bytes.length, start, end) !== 0) {
      this.bytes = Buffer.from(buf.subarray(start, end));
      this.value = this.bytes.toString('utf8');
    }
    return this.value;
  }
}

function viewOf(buf: Buffer, start: number, end: number, campaigns: Interned, carriers: Interned): ReportView {
  const view: ReportView = {
    bytes: buf.subarray(start, end),
    campaignId: '',
    channel: Channel.CHANNEL_UNSPECIFIED,
    carrier: '',
    result: ResultCode.RESULT_UNSPECIFIED,
    fallbackStep: 0,
    traceParent: '',
  };
  pos = start;
  while (pos < end) {
    const tag = varint(buf, end);
    if (tag === 0x18) view.channel = varint(buf, end);
    else if (tag === 0x28) view.result = varint(buf, end);
    else {
      const wireType = tag & 7;
      skip(buf, end, wireType);
      if (wireType !== 2) continue;
      if (tag === 0x12) view.campaignId = campaigns.of(buf, fieldStart, pos);
      else if (tag === 0x22) view.carrier = carriers.of(buf, fieldStart, pos);
      else if (tag === 0x4a) view.fallbackStep = fallbackStepOf(buf, fieldStart, pos);
      else if (tag === 0x52) view.traceParent = buf.toString('latin1', fieldStart, pos);
    }
  }
  return view;
}

/**
 * Calls `visit` for each DeliveryReport of an encoded ReportBatch, in order, and returns the
 * batch's sequence (0 when it has none: a ReportBatches stream, which numbers nothing).
 */
export function forEachReport(batch: Buffer, visit: (report: ReportView) => void): number {
  const campaigns = new Interned();
  const carriers = new Interned();
  let sequence = 0;
  pos = 0;
  while (pos < batch.length) {
    const tag = varint(batch, batch.length);
    if (tag === 0x10) {
      sequence = varint(batch, batch.length);
      continue;
    }
    skip(batch, batch.length, tag & 7);
    if (tag !== 0x0a) continue;
    const next = pos;
    const view = viewOf(batch, fieldStart, next, campaigns, carriers);
    pos = next;
    visit(view);
  }
  return sequence;
}

/** One report to publish: the DeliveryReport bytes and whether (and from which channel) it fell back. */
export interface OutgoingReport {
  bytes: Uint8Array;
  fallback: boolean;
  fallbackFromChannel: Channel;
}

/**
 * A ReportBatchRecord of `reports` from `workerId`: schema_version, then per report a
 * ReportRecord { schema_version, report (copied bytes), fallback, fallback_from_channel, worker_id }.
 */
export function encodeReportBatchRecord(workerId: string, reports: readonly OutgoingReport[]): Buffer {
  const worker = Buffer.from(workerId, 'utf8');
  const workerField = worker.length > 0 ? 1 + varintSize(worker.length) + worker.length : 0;
  const recordSize = (r: OutgoingReport): number =>
    2 +
    1 +
    varintSize(r.bytes.length) +
    r.bytes.length +
    (r.fallback ? 2 : 0) +
    (r.fallbackFromChannel ? 1 + varintSize(r.fallbackFromChannel) : 0) +
    workerField;
  let size = 2;
  for (const r of reports) {
    const n = recordSize(r);
    size += 1 + varintSize(n) + n;
  }
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  buf[at++] = 0x08;
  buf[at++] = RECORD_SCHEMA_VERSION;
  for (const r of reports) {
    buf[at++] = 0x12;
    at = writeVarint(buf, at, recordSize(r));
    buf[at++] = 0x08;
    buf[at++] = RECORD_SCHEMA_VERSION;
    buf[at++] = 0x12;
    at = writeVarint(buf, at, r.bytes.length);
    buf.set(r.bytes, at);
    at += r.bytes.length;
    if (r.fallback) {
      buf[at++] = 0x18;
      buf[at++] = 1;
    }
    if (r.fallbackFromChannel) {
      buf[at++] = 0x20;
      at = writeVarint(buf, at, r.fallbackFromChannel);
    }
    if (workerField > 0) {
      buf[at++] = 0x2a;
      at = writeVarint(buf, at, worker.length);
      at += worker.copy(buf, at);
    }
  }
  if (at !== size) throw new Error(`report batch: wrote ${at} of ${size} bytes`);
  return buf;
}
