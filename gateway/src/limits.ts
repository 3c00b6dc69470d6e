// Every bound the gateway puts on an upload, with its default. gateway/README.md lists them.
import { Transform, type TransformCallback } from 'node:stream';
import { IngestError } from './errors.ts';

export interface IngestLimits {
  /** Bytes of one upload as sent (csv or xlsx), refused early by Content-Length and by counting. */
  maxUploadBytes: number;
  /** Data rows of one upload (the header row not counted). */
  maxRows: number;
  /** xlsx: uncompressed bytes of every zip entry read, declared and actually inflated. */
  maxUncompressedBytes: number;
  /** xlsx: uncompressed / compressed size of one entry above 1 MiB uncompressed. */
  maxCompressionRatio: number;
  /** xlsx: entries in the zip's central directory. */
  maxZipEntries: number;
  /** Characters of one csv record, or of one xlsx row's cells together. */
  maxRowChars: number;
  /** Characters of one cell; a longer cell refuses its row. */
  maxCellChars: number;
  /** Columns read from a row; cells further right are ignored. */
  maxColumns: number;
  /** Rows searched from the top of the sheet for the header row (a title above it is skipped). */
  maxHeaderSearchRows: number;
  /** Rejected rows listed in the report (every rejection is still counted). */
  maxReportedRejections: number;
  /** Sealed records a Kafka batch carries. */
  batchRecords: number;
  /** Batches awaiting Kafka's acknowledgement before reading pauses (backpressure). */
  maxInFlightBatches: number;
  /** The window the rate limits count in (a fixed window per key). */
  rateWindowMs: number;
  /** Requests one caller (a Kubernetes username) may make per window, all routes together (429 beyond). */
  callerRequestsPerWindow: number;
  /** Requests with a missing or invalid token one client address may make per window before 429 (each costs a TokenReview). */
  failedAuthenticationsPerWindow: number;
  /** Single messages one campaign takes per window: this × its spec.rateLimit.messagesPerSecond × the window in seconds. */
  campaignMessageBurst: number;
  /** Uploads one gateway process reads at once (429 beyond). */
  maxConcurrentUploads: number;
  /** A connection with no bytes moving for this long is closed (a slow client cannot hold it). */
  idleTimeoutMs: number;
  /** The whole of one request, an upload's body included, must arrive within this. */
  requestTimeoutMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<IngestLimits> = Object.freeze({
  maxUploadBytes: 256 * MiB,
  maxRows: 1_000_000,
  maxUncompressedBytes: 1024 * MiB,
  maxCompressionRatio: 200,
  maxZipEntries: 1000,
  maxRowChars: 64 * 1024,
  maxCellChars: 1000,
  maxColumns: 200,
  maxHeaderSearchRows: 10,
  maxReportedRejections: 1000,
  batchRecords: 500,
  maxInFlightBatches: 4,
  rateWindowMs: 1000,
  callerRequestsPerWindow: 2000,
  failedAuthenticationsPerWindow: 100,
  campaignMessageBurst: 2,
  maxConcurrentUploads: 8,
  idleTimeoutMs: 30_000,
  requestTimeoutMs: 15 * 60_000,
});

export function resolveLimits(overrides: Partial<IngestLimits> = {}): IngestLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits))
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`limit ${name} must be a positive integer`);
  return limits;
}

const tooLarge = (max: number): IngestError =>
  new IngestError('upload-too-large', `the upload exceeds the limit of ${max} bytes (maxUploadBytes)`);

/** Refuses by the declared length, before a byte is read. */
export function checkDeclaredLength(declared: number | undefined, max: number): void {
  if (declared !== undefined && declared > max) throw tooLarge(max);
}

/** Passes bytes through, counting them; fails the stream as soon as the count passes `max`. */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(tooLarge(this.max));
    else done(null, chunk);
  }
}
