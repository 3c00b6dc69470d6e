// One carrier simulator: a grpc-js server speaking CarrierGateway for one carrier profile,
// with ack latency, dedupe, throttling, outages, delayed delivery reports and a ledger.
//
// Choices the worker relies on:
// - Every message that passes the door (well-formed, authentic, not a duplicate, not
//   throttled) is ACCEPTED, including those the carrier already knows will fail (ported,
//   too long, not a Kakao user, template mismatch, expired): like real carriers, the
//   failure arrives asynchronously as the delivery report's result, straight away rather
//   than after deliveryDelayMs. ack.result is left RESULT_UNSPECIFIED on ACCEPTED.
//   Exception: results a profile lists in `rejectsAtRequest` (Kakao: not a user, blocked,
//   template mismatch) come back at once as REJECTED with that result, and no report.
// - REJECTED is for what the carrier cannot read: malformed messages, unsupported channel,
//   frames that fail to open (detail 'decrypt-failed'). Rejected keys are not remembered.
// - Outage: open Submit streams end with gRPC UNAVAILABLE and new ones are refused; acks
//   not yet written are lost (their messages were accepted, so a retry gets DUPLICATE).
//   Reports keeps streaming: the report link stays up and nothing accepted is lost.
import {
  open,
  carrierAadText,
  createLogger,
  SimulatedPortabilityDirectory,
  type CarrierId,
  type DataKey,
} from '@anshim/core';
import type { KeyLookup, Logger, PortabilityDirectory } from '@anshim/core';
import {
  AckStatus,
  ResultCode,
  addCarrierGatewayService,
  type CarrierMessage,
  type IAck,
  type IDeliveryReport,
  type ISubmitResponse,
  type ReportsAck,
  type ReportsRequest,
  type IReportBatch,
  type SubmitRequest,
} from '@anshim/proto';
import * as grpc from '@grpc/grpc-js';
import { CARRIER_PROFILES, type CarrierProfile, type KakaoAudience } from './carriers/index.ts';
import { DedupeWindow } from './dedupe.ts';
import { SimulatorError } from './errors.ts';
import { CarrierLedger } from './ledger.ts';
import { seededRandom } from './random.ts';
import { ReportHub, type PendingReport } from './reports.ts';
import { TokenBucket } from './throttle.ts';
import { traceSubmitBatch } from './tracing.ts';

export interface MutualTlsOptions {
  /** PEM of the CA client certificates must chain to. */
  ca: Buffer;
  /** PEM server certificate chain and key. */
  cert: Buffer;
  key: Buffer;
}

export interface LatencyRange {
  min: number;
  max: number;
}

export interface CarrierSimulatorOptions {
  carrier: CarrierId;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** The carrier's transport key (or a keyring of them, for rotation). */
  transportKey: DataKey | KeyLookup;
  /** Mutual TLS: clients must present a certificate signed by `ca`. Plaintext when absent. */
  tls?: MutualTlsOptions;
  /** Ack latency per batch; default 0–2 ms. */
  latencyMs?: number | LatencyRange;
  /** When the delivery report of an accepted, deliverable message is produced; default 20 ms. */
  deliveryDelayMs?: number;
  /** Probabilities of final results other than DELIVERED, e.g. { [ResultCode.HANDSET_OFF]: 0.01 }. */
  failureRates?: Partial<Record<ResultCode, number>>;
  /** Accepted messages per second (token bucket, burst = one second); null/absent = unlimited. */
  throttle?: number | null;
  /** How long an idempotency key is remembered; default 10 minutes. */
  dedupeWindowMs?: number;
  portability?: PortabilityDirectory;
  /** AlimTalk templates registered with Kakao. */
  kakaoTemplates?: Iterable<string>;
  kakaoAudience?: Partial<KakaoAudience>;
  /** Seeds every random draw and per-number trait. */
  seed?: string;
  /**
   * Reports the carrier holds for its subscribers (waiting, or written and not acknowledged);
   * while it holds this many, new messages are refused with THROTTLED (as an SMSC answers
   * "message queue full"), never dropped. Default 1,000,000.
   */
  maxBufferedReports?: number;
  logger?: Logger;
}

export interface CarrierSimulator {
  readonly carrier: CarrierId;
  readonly port: number;
  /** host:port to dial. */
  readonly address: string;
  readonly ledger: CarrierLedger;
  /** Reports scheduled, waiting for a subscriber, or written on AckedReports and not acknowledged. */
  readonly reportsBuffered: number;
  /** Reports written on AckedReports streams and not acknowledged yet. */
  readonly reportsUnacknowledged: number;
  setOutage(on: boolean): void;
  setThrottle(ratePerSec: number | null): void;
  close(): Promise<void>;
}

export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60 * 1000;
export const DEFAULT_DELIVERY_DELAY_MS = 20;
export const DEFAULT_MAX_BUFFERED_REPORTS = 1_000_000;
/** How long a sender is told to wait when the report queue is full: subscribers drain it meanwhile. */
const REPORT_QUEUE_FULL_RETRY_MS = 500;
const DEFAULT_LATENCY: LatencyRange = { min: 0, max: 2 };
const DEFAULT_KAKAO_AUDIENCE: KakaoAudience = { notUserShare: 0.05, blockedShare: 0.01 };
/** Batches whose acks may wait for latency or a slow reader before the stream stops reading. */
const MAX_OUTBOX_BATCHES = 16;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const SHUTDOWN_GRACE_MS = 2000;

type SubmitCall = grpc.ServerDuplexStream<SubmitRequest, ISubmitResponse>;
type ReportsCall = grpc.ServerWritableStream<ReportsRequest, IDeliveryReport>;

const NOT_FINAL = new Set<ResultCode>([ResultCode.RESULT_UNSPECIFIED, ResultCode.DELIVERED]);

/** Cumulative table for drawing final results; whatever is left over is DELIVERED. */
function failureTable(rates: Partial<Record<ResultCode, number>>): { result: ResultCode; upTo: number }[] {
  const table: { result: ResultCode; upTo: number }[] = [];
  let total = 0;
  for (const [code, p] of Object.entries(rates)) {
    const result = Number(code) as ResultCode;
    if (ResultCode[result] === undefined || NOT_FINAL.has(result))
      throw new SimulatorError('invalid-config', `failureRates: ${code} is not a failure result`);
    if (p === undefined || !(p >= 0 && p <= 1)) throw new SimulatorError('invalid-config', `failureRates: ${code}`);
    total += p;
    table.push({ result, upTo: total });
  }
  if (total > 1) throw new SimulatorError('invalid-config', 'failureRates sum above 1');
  return table;
}

function latencySampler(latency: number | LatencyRange | undefined, random: () => number): () => number {
  const { min, max } = typeof latency === 'number' ? { min: latency, max: latency } : (latency ?? DEFAULT_LATENCY);
  if (!(min >= 0 && max >= min)) throw new SimulatorError('invalid-config', 'latencyMs');
  return max === min ? () => min : () => min + random() * (max - min);
}

const ack = (messageId: string, status: AckStatus, result?: ResultCode, detail?: string): IAck =>
  detail === undefined ? { messageId, status, result } : { messageId, status, result, detail };

/** Per-carrier door logic, shared by every Submit stream of the simulator. */
class CarrierDesk {
  readonly ledger = new CarrierLedger();
  readonly reports: ReportHub;
  private readonly dedupe: DedupeWindow;
  private bucket: TokenBucket | undefined;
  private readonly random: () => number;
  private readonly failures: { result: ResultCode; upTo: number }[];
  private readonly deliveryDelayMs: number;
  private readonly maxBufferedReports: number;

  constructor(
    readonly carrier: CarrierId,
    private readonly profile: CarrierProfile,
    private readonly key: DataKey | KeyLookup,
    options: CarrierSimulatorOptions,
    random: () => number,
  ) {
    this.random = random;
    this.dedupe = new DedupeWindow(options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS);
    this.failures = failureTable(options.failureRates ?? {});
    this.deliveryDelayMs = options.deliveryDelayMs ?? DEFAULT_DELIVERY_DELAY_MS;
    this.setThrottle(options.throttle ?? null);
    this.maxBufferedReports = options.maxBufferedReports ?? DEFAULT_MAX_BUFFERED_REPORTS;
    if (!(this.maxBufferedReports > 0)) throw new SimulatorError('invalid-config', 'maxBufferedReports must be > 0');
    this.reports = new ReportHub({
      carrier,
      onProduced: (r) => this.ledger.recordResult(r.campaignId, r.messageId, r.result),
      onAcked: (n) => (this.ledger.reportsAcked += n),
      onRedelivered: (n) => (this.ledger.reportsRedelivered += n),
    });
  }

  setThrottle(ratePerSec: number | null): void {
    if (ratePerSec !== null && !(ratePerSec > 0)) throw new SimulatorError('invalid-config', 'throttle must be > 0');
    this.bucket = ratePerSec === null ? undefined : new TokenBucket(ratePerSec);
  }

  private drawResult(): ResultCode {
    if (this.failures.length === 0) return ResultCode.DELIVERED;
    const r = this.random();
    for (const f of this.failures) if (r < f.upTo) return f.result;
    return ResultCode.DELIVERED;
  }

  /** Acks one batch, in order; `traceParent` goes with the batch's reports. */
  submit(messages: readonly CarrierMessage[], traceParent = ''): IAck[] {
    const now = Date.now();
    const tick = performance.now();
    this.dedupe.evict(now);
    const acks = new Array<IAck>(messages.length);
    let throttled = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as CarrierMessage;
      acks[i] = this.submitOne(m, now, tick, throttled, traceParent);
      if (acks[i]?.status === AckStatus.THROTTLED) throttled++;
    }
    return acks;
  }

  private reject(messageId: string, detail: string): IAck {
    this.ledger.rejected++;
    return ack(messageId, AckStatus.REJECTED, ResultCode.CARRIER_ERROR, detail);
  }

  private submitOne(m: CarrierMessage, now: number, tick: number, throttledBefore: number, traceParent: string): IAck {
    const { id, campaignId } = m;
    if (!id || !campaignId || !m.idempotencyKey || !m.sealedRecipient?.length || !m.sealedBody?.length)
      return this.reject(id ?? '', 'malformed');
    if (!this.profile.channels.has(m.channel)) return this.reject(id, 'unsupported-channel');
    // Retries usually reuse the message id as key: keep one string for both.
    const idempotencyKey = m.idempotencyKey === id ? id : m.idempotencyKey;
    if (this.dedupe.has(idempotencyKey)) {
      this.ledger.duplicates++;
      return ack(id, AckStatus.DUPLICATE);
    }
    if (this.bucket !== undefined && !this.bucket.take(tick)) {
      this.ledger.throttled++;
      return {
        messageId: id,
        status: AckStatus.THROTTLED,
        result: ResultCode.THROTTLED,
        retryAfterMs: this.bucket.retryAfterMs(throttledBefore),
      };
    }
    if (this.reports.buffered >= this.maxBufferedReports) {
      // Every accepted message owes a report; with the queue full there is nowhere to keep one.
      this.ledger.reportQueueFull++;
      return {
        messageId: id,
        status: AckStatus.THROTTLED,
        result: ResultCode.THROTTLED,
        retryAfterMs: REPORT_QUEUE_FULL_RETRY_MS,
        detail: 'report-queue-full',
      };
    }

    let recipient: Buffer;
    let body: Buffer;
    try {
      recipient = open(this.key, m.sealedRecipient, carrierAadText(campaignId, id, 'recipient'));
    } catch {
      return this.reject(id, 'decrypt-failed');
    }
    try {
      body = open(this.key, m.sealedBody, carrierAadText(campaignId, id, 'body'));
    } catch {
      recipient.fill(0);
      return this.reject(id, 'decrypt-failed');
    }
    let immediate: ResultCode | undefined;
    if (m.expiresAtMs > 0 && m.expiresAtMs < now) immediate = ResultCode.EXPIRED;
    else
      immediate = this.profile.screen({
        channel: m.channel,
        recipient: recipient.toString('utf8'),
        text: body.toString('utf8'),
        templateCode: m.templateCode,
      });
    // The plaintext buffers are not needed past screening; do not leave them for the GC to find.
    recipient.fill(0);
    body.fill(0);
    if (immediate !== undefined && this.profile.rejectsAtRequest?.has(immediate)) {
      this.ledger.rejected++;
      return ack(id, AckStatus.REJECTED, immediate, ResultCode[immediate]);
    }

    this.dedupe.add(idempotencyKey, now);
    const report: PendingReport = {
      messageId: id,
      campaignId: this.ledger.recordAccepted(campaignId, id),
      idempotencyKey,
      channel: m.channel,
      result: immediate ?? this.drawResult(),
      submittedAtMs: now,
      attempt: m.attempt,
      dueAt: immediate === undefined ? now + this.deliveryDelayMs : now,
      traceParent,
    };
    if (immediate === undefined) this.reports.schedule(report);
    else this.reports.produceNow(report);
    return ack(id, AckStatus.ACCEPTED);
  }
}

interface OutboxEntry {
  dueAt: number;
  response: ISubmitResponse;
  acks: number;
}

/**
 * One Submit stream: batches are acked in arrival order after the ack latency. Reading
 * pauses while too many acks wait (latency or a client not reading), so a slow reader
 * pushes back through HTTP/2 flow control instead of growing our memory.
 */
class SubmitSession {
  private readonly outbox: OutboxEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private blocked = false;
  private paused = false;
  private halfClosed = false;
  private finished = false;
  private lastDueAt = 0;

  constructor(
    private readonly call: SubmitCall,
    private readonly desk: CarrierDesk,
    private readonly latency: () => number,
    private readonly onFinish: (session: SubmitSession) => void,
  ) {
    call.on('data', (request: SubmitRequest) => this.onBatch(request));
    call.on('end', () => {
      this.halfClosed = true;
      this.pump();
    });
    call.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
    call.on('cancelled', () => this.finish());
    call.on('error', () => this.finish());
  }

  private onBatch(request: SubmitRequest): void {
    if (this.finished) return;
    // Decoded requests hold CarrierMessage instances (defaults filled in), whatever the d.ts says.
    const messages = request.messages as CarrierMessage[];
    const acks = traceSubmitBatch(this.desk.carrier, messages, (traceParent) =>
      this.desk.submit(messages, traceParent),
    );
    const dueAt = Math.max(this.lastDueAt, performance.now() + this.latency());
    this.lastDueAt = dueAt;
    this.outbox.push({ dueAt, response: { acks }, acks: acks.length });
    this.pump();
  }

  private pump(): void {
    if (this.finished) return;
    const now = performance.now();
    let head: OutboxEntry | undefined;
    while (!this.blocked && (head = this.outbox[0]) !== undefined && head.dueAt <= now) {
      this.outbox.shift();
      if (!this.call.write(head.response)) this.blocked = true;
    }
    head = this.outbox[0];
    if (!this.blocked && head !== undefined && this.timer === undefined) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.pump();
        },
        Math.max(0, head.dueAt - now),
      );
    }
    const backlogged = this.blocked || this.outbox.length >= MAX_OUTBOX_BATCHES;
    if (backlogged && !this.paused) {
      this.paused = true;
      this.desk.ledger.readPauses++;
      this.call.pause();
    } else if (!backlogged && this.paused) {
      this.paused = false;
      this.call.resume();
    }
    if (this.halfClosed && this.outbox.length === 0) {
      this.finish();
      this.call.end();
    }
  }

  /** Ends the stream with a status now; acks still waiting are lost, as in a real outage. */
  fail(code: grpc.status, details: string): void {
    if (this.finished) return;
    this.finish();
    this.call.emit('error', { code, details });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    for (const entry of this.outbox) this.desk.ledger.acksLost += entry.acks;
    this.outbox.length = 0;
    this.onFinish(this);
  }
}

function listen(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error) reject(new SimulatorError('bind-failed', `${address}: ${error.message}`));
      else resolve(port);
    });
  });
}

export async function startCarrierSimulator(options: CarrierSimulatorOptions): Promise<CarrierSimulator> {
  const { carrier } = options;
  const factory = CARRIER_PROFILES[carrier];
  if (factory === undefined) throw new SimulatorError('unknown-carrier', String(carrier));
  const seed = options.seed ?? 'anshim-sim';
  const random = seededRandom(`${seed}|${carrier}`);
  const profile = factory({
    portability: options.portability ?? new SimulatedPortabilityDirectory(),
    kakaoTemplates: new Set(options.kakaoTemplates ?? []),
    kakaoAudience: { ...DEFAULT_KAKAO_AUDIENCE, ...options.kakaoAudience },
    seed,
  });
  const desk = new CarrierDesk(carrier, profile, options.transportKey, options, random);
  const latency = latencySampler(options.latencyMs, random);
  const log = (options.logger ?? createLogger('simulator')).child({ carrier });

  const sessions = new Set<SubmitSession>();
  let outage = false;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  addCarrierGatewayService(server, {
    submit(call: SubmitCall) {
      if (outage) {
        desk.ledger.unavailable++;
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'carrier outage' });
        return;
      }
      sessions.add(new SubmitSession(call, desk, latency, (s) => sessions.delete(s)));
    },
    reports(call: ReportsCall) {
      desk.reports.subscribe(call);
    },
    reportBatches(call: grpc.ServerWritableStream<ReportsRequest, IReportBatch>) {
      desk.reports.subscribe(call, true);
    },
    ackedReports(call: grpc.ServerDuplexStream<ReportsAck, IReportBatch>) {
      desk.reports.subscribeAcked(call);
    },
  });

  const host = options.host ?? '127.0.0.1';
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        options.tls.ca,
        [{ cert_chain: options.tls.cert, private_key: options.tls.key }],
        true, // mutual TLS: refuse clients without a certificate from our CA
      )
    : grpc.ServerCredentials.createInsecure();
  const bindHost = host.includes(':') ? `[${host}]` : host;
  const port = await listen(server, `${bindHost}:${options.port ?? 0}`, credentials);
  log.info({ port, tls: options.tls !== undefined }, 'carrier simulator listening');

  let closed: Promise<void> | undefined;
  return {
    carrier,
    port,
    address: `${bindHost}:${port}`,
    ledger: desk.ledger,
    get reportsBuffered() {
      return desk.reports.buffered;
    },
    get reportsUnacknowledged() {
      return desk.reports.unacknowledged;
    },
    setOutage(on: boolean) {
      if (on === outage) return;
      outage = on;
      log.warn({ outage: on }, on ? 'outage started' : 'outage ended');
      if (!on) return;
      for (const session of [...sessions]) {
        desk.ledger.unavailable++;
        session.fail(grpc.status.UNAVAILABLE, 'carrier outage');
      }
    },
    setThrottle(ratePerSec: number | null) {
      desk.setThrottle(ratePerSec);
      log.info({ throttle: ratePerSec }, 'throttle changed');
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        desk.reports.close();
        for (const session of [...sessions]) session.fail(grpc.status.UNAVAILABLE, 'carrier shutting down');
        let settled = false;
        const done = () => {
          if (settled) return;
          settled = true;
          clearTimeout(force);
          log.info('carrier simulator closed');
          resolve();
        };
        const force = setTimeout(() => {
          server.forceShutdown();
          done();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(done);
      });
      return closed;
    },
  };
}
