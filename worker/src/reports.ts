import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CARRIER_GATEWAY_SERVICE_NAME,
  Channel,
  ReportsAck,
  ReportsRequest,
  type IReportsAck,
  type IReportsRequest,
  type ResultCode,
} from '@anshim/proto';
import type { CarrierId, Logger } from '@anshim/core';
import type { CampaignDirectory } from './campaign.ts';
import { channelOfStep } from './processor.ts';
import type { ProgressCounters } from './progress.ts';
import { forEachReport, type ReportView } from './report-frames.ts';
import type { BatchingSink } from './sink.ts';
import { recordReport, reportTraceContext } from './telemetry.ts';

const clientOnly = () => {
  throw new Error('client only');
};

// AckedReports and ReportBatches with the responses left as bytes: the pump scans them (see
// report-frames.ts).
const RawReportsClient = grpc.makeGenericClientConstructor(
  {
    ackedReports: {
      path: `/${CARRIER_GATEWAY_SERVICE_NAME}/AckedReports`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (req: IReportsAck) => Buffer.from(ReportsAck.encode(req).finish()),
      requestDeserialize: clientOnly,
      responseSerialize: clientOnly,
      responseDeserialize: (buf: Buffer) => buf,
    },
    reportBatches: {
      path: `/${CARRIER_GATEWAY_SERVICE_NAME}/ReportBatches`,
      requestStream: false,
      responseStream: true,
      requestSerialize: (req: IReportsRequest) => Buffer.from(ReportsRequest.encode(req).finish()),
      requestDeserialize: () => {
        throw new Error('client only');
      },
      responseSerialize: () => {
        throw new Error('client only');
      },
      responseDeserialize: (buf: Buffer) => buf,
    },
  },
  'CarrierGatewayReports',
);
type RawReportsClient = grpc.Client & {
  ackedReports: () => grpc.ClientDuplexStream<IReportsAck, Buffer>;
  reportBatches: (req: IReportsRequest) => grpc.ClientReadableStream<Buffer>;
};

interface PendingBatch {
  sequence: number;
  results: Array<[campaignId: string, result: ResultCode]>;
}

interface StreamAcks {
  call: grpc.ClientDuplexStream<IReportsAck, Buffer>;
  /** Batches received and not acknowledged yet, with the results their reports count. */
  pending: PendingBatch[];
  running: Promise<void> | undefined;
}

/**
 * Follows one carrier's delivery-report stream and republishes each report to the reports
 * topic, reconnecting with backoff when the carrier goes away.
 *
 * On AckedReports (the default) a batch is acknowledged only once Kafka has its reports, so a
 * worker killed between the carrier's report and the reports record loses nothing: the
 * carrier hands the unacknowledged batches to the next subscriber. A carrier without
 * AckedReports (UNIMPLEMENTED) is followed on ReportBatches, at most once, as before.
 */
export class ReportsPump {
  private call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<IReportsAck, Buffer> | undefined;
  private stopped = false;
  private acked = true;
  /** The current AckedReports stream's acknowledgements (sequences are per stream). */
  private acks: StreamAcks | undefined;
  private readonly client: RawReportsClient;
  private readonly done: Promise<void>;

  constructor(
    private readonly carrier: CarrierId,
    address: string,
    credentials: grpc.ChannelCredentials,
    channelOptions: grpc.ChannelOptions,
    private readonly deps: {
      sink: BatchingSink;
      progress: ProgressCounters;
      campaigns: CampaignDirectory;
      workerId: string;
      log: Logger;
      /** Only these campaigns' reports (empty: all). */
      campaignIds?: string[];
    },
  ) {
    this.client = new RawReportsClient(address, credentials, channelOptions) as unknown as RawReportsClient;
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let failures = 0; !this.stopped;) {
      const ended = await new Promise<boolean>((resolve) => {
        // Batched: one gRPC message carries hundreds of reports (a per-report stream tops out near 20k/s).
        const campaignIds = this.deps.campaignIds ?? [];
        let call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<IReportsAck, Buffer>;
        let acks: StreamAcks | undefined;
        if (this.acked) {
          const duplex = this.client.ackedReports();
          duplex.write({ subscribe: { campaignIds } });
          acks = { call: duplex, pending: [], running: undefined };
          call = duplex;
        } else call = this.client.reportBatches({ campaignIds });
        this.call = call;
        this.acks = acks;
        call.on('data', (batch: Buffer) => {
          failures = 0;
          let sequence = 0;
          const results: PendingBatch['results'] = [];
          try {
            sequence = forEachReport(batch, (r) => {
              this.publish(r);
              results.push([r.campaignId, r.result]);
            });
          } catch (err) {
            // Reports before the bad one are published. Unacknowledged, the batch stays the
            // carrier's to offer again when this stream ends.
            this.deps.log.error({ carrier: this.carrier, err: (err as Error).message }, 'unreadable report batch');
          }
          // A batch's results count once it is acknowledged: a batch the carrier may still hand
          // to another worker must not be counted here too (the campaign would look complete early).
          if (acks && sequence > 0) this.acknowledgeWhenDurable(acks, { sequence, results });
          else for (const [campaignId, result] of results) this.deps.progress.result(campaignId, result);
        });
        call.on('error', (err: grpc.ServiceError) => {
          if (acks && err.code === grpc.status.UNIMPLEMENTED) {
            this.acked = false;
            this.deps.log.warn(
              { carrier: this.carrier },
              'carrier has no AckedReports: following ReportBatches, where a report is delivered at most once',
            );
          }
          resolve(false);
        });
        call.on('end', () => resolve(true));
      });
      if (this.stopped) break;
      failures++;
      if (!ended) this.deps.log.warn({ carrier: this.carrier, failures }, 'reports stream lost; reconnecting');
      await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
    }
  }

  /** Acknowledges a batch once a sink flush covering its reports has succeeded, then counts its results. */
  private acknowledgeWhenDurable(acks: StreamAcks, batch: PendingBatch): void {
    acks.pending.push(batch);
    // One loop per stream: each flush covers every push before it, so one flush acknowledges many batches.
    acks.running ??= this.acknowledgeLoop(acks).finally(() => (acks.running = undefined));
  }

  private async acknowledgeLoop(acks: StreamAcks): Promise<void> {
    for (let failures = 0; this.acks === acks && acks.pending.length > 0;) {
      const batches = acks.pending;
      acks.pending = [];
      try {
        // Resolves once everything pushed before it (these batches' reports included) is in Kafka.
        await this.deps.sink.flush();
      } catch (err) {
        // The sink keeps what it could not send; acknowledge after a later flush gets it through.
        acks.pending = [...batches, ...acks.pending];
        failures++;
        this.deps.log.warn({ carrier: this.carrier, failures, err: (err as Error).message }, 'reports not durable yet');
        if (this.stopped) return;
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      failures = 0;
      // A stream that ended meanwhile has handed these batches back to the carrier: a
      // duplicate report (same id) is then possible, a lost one is not.
      if (this.acks !== acks) return;
      acks.call.write({ sequences: batches.map((b) => b.sequence) });
      for (const b of batches)
        for (const [campaignId, result] of b.results) this.deps.progress.result(campaignId, result);
    }
  }

  private publish(r: ReportView): void {
    const step = r.fallbackStep;
    const campaign = this.deps.campaigns.get(r.campaignId);
    recordReport(r);
    this.deps.sink.pushReport(
      r.campaignId,
      {
        bytes: r.bytes,
        fallback: step > 0,
        fallbackFromChannel: step > 0 && campaign ? channelOfStep(campaign, step - 1) : Channel.CHANNEL_UNSPECIFIED,
      },
      // The carrier's context for the message when it was traced: the report continues that trace.
      r.traceParent ? reportTraceContext(r.traceParent) : undefined,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Acknowledge what is already durable (one more flush), so a graceful stop hands nothing back.
    await this.acks?.running;
    this.call?.cancel();
    await this.done;
    this.client.close();
  }
}
