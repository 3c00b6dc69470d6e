import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CARRIER_GATEWAY_SERVICE_NAME, Channel, ReportsRequest, type IReportsRequest } from '@anshim/proto';
import type { CarrierId, Logger } from '@anshim/core';
import type { CampaignDirectory } from './campaign.ts';
import { channelOfStep } from './processor.ts';
import type { ProgressCounters } from './progress.ts';
import { forEachReport, type ReportView } from './report-frames.ts';
import type { BatchingSink } from './sink.ts';
import { recordReport, reportTraceContext } from './telemetry.ts';

// ReportBatches with the response left as bytes: the pump scans them (see report-frames.ts).
const RawReportsClient = grpc.makeGenericClientConstructor(
  {
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
  reportBatches: (req: IReportsRequest) => grpc.ClientReadableStream<Buffer>;
};

/**
 * Follows one carrier's delivery-report stream and republishes each report to the reports
 * topic, reconnecting with backoff when the carrier goes away.
 */
export class ReportsPump {
  private call: grpc.ClientReadableStream<Buffer> | undefined;
  private stopped = false;
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
        const call = this.client.reportBatches({ campaignIds: this.deps.campaignIds ?? [] });
        this.call = call;
        call.on('data', (batch: Buffer) => {
          failures = 0;
          try {
            forEachReport(batch, (r) => this.publish(r));
          } catch (err) {
            // Reports before the bad one are published; the carrier's ledger still has the rest.
            this.deps.log.error({ carrier: this.carrier, err: (err as Error).message }, 'unreadable report batch');
          }
        });
        call.on('error', () => resolve(false));
        call.on('end', () => resolve(true));
      });
      if (this.stopped) break;
      failures++;
      if (!ended) this.deps.log.warn({ carrier: this.carrier, failures }, 'reports stream lost; reconnecting');
      await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
    }
  }

  private publish(r: ReportView): void {
    const step = r.fallbackStep;
    const campaign = this.deps.campaigns.get(r.campaignId);
    this.deps.progress.result(r.campaignId, r.result);
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
    this.call?.cancel();
    await this.done;
    this.client.close();
  }
}
