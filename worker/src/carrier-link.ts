import * as grpc from '@grpc/grpc-js';
import { CARRIER_GATEWAY_SERVICE_NAME, SubmitResponse, type Ack } from '@anshim/proto';
import type { CarrierId } from '@anshim/core';
import { injectGrpcMetadata } from '@anshim/telemetry';
import { varintSize, writeVarint } from './wire.ts';
import { traceCarrierSubmit } from './telemetry.ts';

/** The carrier stream broke (outage, restart, network): every batch in flight on it is unanswered. */
export class CarrierUnavailableError extends Error {
  override readonly name = 'CarrierUnavailableError';
  constructor(
    readonly carrier: CarrierId,
    readonly code: grpc.status | undefined,
    detail: string,
  ) {
    super(`carrier ${carrier} unavailable: ${detail}`);
  }
}

/**
 * Frames a SubmitRequest from already-encoded CarrierMessages (field 1, length-delimited),
 * so the main thread never decodes and re-encodes what the pool's threads produced.
 * `trailer` (encoded fields, e.g. trace_parent) is appended to every message.
 */
export function encodeSubmitRequest(frames: readonly Uint8Array[], trailer?: Uint8Array): Buffer {
  const extra = trailer?.length ?? 0;
  let size = 0;
  for (const f of frames) size += 1 + varintSize(f.length + extra) + f.length + extra;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of frames) {
    out[at++] = 0x0a;
    let n = f.length + extra;
    while (n > 0x7f) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
    out.set(f, at);
    at += f.length;
    if (trailer) {
      out.set(trailer, at);
      at += extra;
    }
  }
  return out;
}

/** CarrierMessage.attempt (field 9, varint) as encoded bytes, to append to a frame. */
export function attemptField(attempt: number): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(attempt));
  out[0] = (9 << 3) | 0;
  writeVarint(out, 1, attempt);
  return out;
}

/** What the Submit stream writes: one batch's frames and what to append to each. */
interface OutgoingBatch {
  frames: readonly Uint8Array[];
  trailer: Uint8Array | undefined;
}

const SubmitClient = grpc.makeGenericClientConstructor(
  {
    submit: {
      path: `/${CARRIER_GATEWAY_SERVICE_NAME}/Submit`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (batch: OutgoingBatch) => encodeSubmitRequest(batch.frames, batch.trailer),
      requestDeserialize: () => {
        throw new Error('client only');
      },
      responseSerialize: () => {
        throw new Error('client only');
      },
      responseDeserialize: (buf: Buffer) => SubmitResponse.decode(buf),
    },
  },
  'CarrierGatewaySubmit',
);

interface PendingBatch {
  count: number;
  resolve: (acks: Ack[]) => void;
  reject: (err: Error) => void;
}

export interface CarrierLinkOptions {
  carrier: CarrierId;
  address: string;
  credentials: grpc.ChannelCredentials;
  /** TLS name to verify when the address is an IP (the stack's certs name `localhost`). */
  serverName?: string;
  maxInFlightBatches?: number;
}

/**
 * One long-lived Submit stream to a carrier. Batches go out in order and their acks come
 * back in the same order, so a FIFO matches them; at most `maxInFlightBatches` are
 * unanswered at once (flow control on top of HTTP/2's own).
 */
export class CarrierLink {
  readonly carrier: CarrierId;
  private readonly address: string;
  private readonly client: grpc.Client & {
    submit: (metadata: grpc.Metadata) => grpc.ClientDuplexStream<OutgoingBatch, SubmitResponse>;
  };
  private stream: grpc.ClientDuplexStream<OutgoingBatch, SubmitResponse> | undefined;
  private readonly pending: PendingBatch[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly maxInFlight: number;
  private closed = false;

  constructor(opts: CarrierLinkOptions) {
    this.carrier = opts.carrier;
    this.address = opts.address;
    this.maxInFlight = opts.maxInFlightBatches ?? 16;
    const channelOptions: grpc.ChannelOptions = {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      ...(opts.serverName
        ? { 'grpc.ssl_target_name_override': opts.serverName, 'grpc.default_authority': opts.serverName }
        : {}),
    };
    this.client = new SubmitClient(opts.address, opts.credentials, channelOptions) as unknown as CarrierLink['client'];
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /**
   * Sends one batch; resolves with one ack per frame, in order, or rejects with CarrierUnavailableError.
   * A retry sends the very frames the pool wrote (never decoded or re-encoded): its `attempt`
   * travels as a field appended to each message, which a protobuf reader takes over the frame's own.
   */
  submit(frames: Uint8Array[], attempt = 1): Promise<Ack[]> {
    const retry = attempt > 1 ? attemptField(attempt) : undefined;
    return traceCarrierSubmit(this.carrier, this.address, frames.length, (trace) =>
      this.submitNow(frames, retry && trace ? Buffer.concat([retry, trace]) : (retry ?? trace)),
    );
  }

  private async submitNow(frames: Uint8Array[], trailer: Uint8Array | undefined): Promise<Ack[]> {
    if (this.closed) throw new CarrierUnavailableError(this.carrier, undefined, 'link closed');
    while (this.pending.length >= this.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    const stream = this.stream ?? this.open();
    return new Promise<Ack[]>((resolve, reject) => {
      this.pending.push({ count: frames.length, resolve, reject });
      stream.write({ frames, trailer });
    });
  }

  private open(): grpc.ClientDuplexStream<OutgoingBatch, SubmitResponse> {
    // Metadata is per stream: it carries the context of the batch span that opened it.
    const stream = this.client.submit(injectGrpcMetadata(new grpc.Metadata()));
    this.stream = stream;
    stream.on('data', (res: SubmitResponse) => {
      const batch = this.pending.shift();
      this.wake();
      if (!batch) return;
      if (res.acks.length !== batch.count) {
        batch.reject(
          new CarrierUnavailableError(this.carrier, undefined, `ack count ${res.acks.length} ≠ batch ${batch.count}`),
        );
      } else batch.resolve(res.acks as Ack[]);
    });
    const fail = (err?: grpc.ServiceError): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      const failed = this.pending.splice(0);
      for (const b of failed)
        b.reject(new CarrierUnavailableError(this.carrier, err?.code, err?.details || 'stream ended'));
      this.wake(failed.length);
    };
    stream.on('error', (err: grpc.ServiceError) => fail(err));
    stream.on('end', () => fail());
    return stream;
  }

  private wake(n = 1): void {
    for (let i = 0; i < n && this.waiters.length; i++) this.waiters.shift()?.();
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
    for (const w of this.waiters.splice(0)) w();
  }
}
