import type * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CarrierGatewayClient,
  Channel,
  RECORD_SCHEMA_VERSION,
  type DeliveryReport,
  type ReportBatch,
} from '@anshim/proto';
import type { CarrierId, Logger } from '@anshim/core';
import type { CampaignDirectory } from './campaign.ts';
import { channelOfStep } from './processor.ts';
import type { ProgressCounters } from './progress.ts';
import type { BatchingSink } from './sink.ts';
import { recordReport, reportTraceContext } from './telemetry.ts';

const FALLBACK_STEP = /#fallback(\d+)$/;

/**
 * Follows one carrier's delivery-report stream and republishes each report to the reports
 * topic, reconnecting with backoff when the carrier goes away.
 */
export class ReportsPump {
  private call: grpc.ClientReadableStream<ReportBatch> | undefined;
  private stopped = false;
  private readonly client: InstanceType<typeof CarrierGatewayClient>;
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
    this.client = new CarrierGatewayClient(address, credentials, channelOptions);
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let failures = 0; !this.stopped;) {
      const ended = await new Promise<boolean>((resolve) => {
        // Batched: one gRPC message carries hundreds of reports (a per-report stream tops out near 20k/s).
        const call = this.client.reportBatches({ campaignIds: this.deps.campaignIds ?? [] });
        this.call = call;
        call.on('data', (batch: ReportBatch) => {
          failures = 0;
          for (const r of batch.reports) this.publish(r as DeliveryReport);
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

  private publish(r: DeliveryReport): void {
    const step = Number(FALLBACK_STEP.exec(r.idempotencyKey)?.[1] ?? 0);
    const campaign = this.deps.campaigns.get(r.campaignId);
    this.deps.progress.result(r.campaignId, r.result);
    recordReport(r);
    this.deps.sink.pushReport(
      r.campaignId,
      {
        schemaVersion: RECORD_SCHEMA_VERSION,
        report: r,
        fallback: step > 0,
        fallbackFromChannel: step > 0 && campaign ? channelOfStep(campaign, step - 1) : Channel.CHANNEL_UNSPECIFIED,
        workerId: this.deps.workerId,
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
