// Test and benchmark helpers: seal a message the way the worker does (see the wire
// convention in server.ts), and dial a simulator with the real grpc-js client.
import { carrierAad, seal, type DataKey } from '@anshim/core';
import {
  Channel,
  CarrierGatewayClient,
  type ICarrierMessage,
  type IDeliveryReport,
  type SubmitResponse,
} from '@anshim/proto';
import * as grpc from '@grpc/grpc-js';

export interface PlainMessage {
  id: string;
  campaignId: string;
  channel?: Channel;
  /** National digits, e.g. 01012345678. */
  recipient: string;
  text: string;
  idempotencyKey?: string;
  templateCode?: string;
  expiresAtMs?: number;
  attempt?: number;
}

export function sealForCarrier(key: DataKey, m: PlainMessage): ICarrierMessage {
  return {
    id: m.id,
    campaignId: m.campaignId,
    channel: m.channel ?? Channel.SMS,
    sealedRecipient: seal(key, Buffer.from(m.recipient, 'utf8'), carrierAad(m.campaignId, m.id, 'recipient')),
    sealedBody: seal(key, Buffer.from(m.text, 'utf8'), carrierAad(m.campaignId, m.id, 'body')),
    idempotencyKey: m.idempotencyKey ?? m.id,
    expiresAtMs: m.expiresAtMs ?? 0,
    attempt: m.attempt ?? 1,
    templateCode: m.templateCode ?? '',
    keyId: key.id,
  };
}

export function dialCarrier(address: string, credentials = grpc.credentials.createInsecure()): CarrierGatewayClient {
  return new CarrierGatewayClient(address, credentials);
}

/** Sends batches one at a time on one stream and collects one response per batch. */
export async function submitBatches(
  client: CarrierGatewayClient,
  batches: readonly ICarrierMessage[][],
): Promise<SubmitResponse[]> {
  const call = client.submit();
  const responses: SubmitResponse[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (response: SubmitResponse) => {
      responses.push(response);
      if (responses.length === batches.length) call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(responses));
    for (const messages of batches) call.write({ messages });
    if (batches.length === 0) call.end();
  });
}

/** Reads reports until `count` arrived (or rejects after `timeoutMs`), then cancels the stream. */
export function collectReports(
  client: CarrierGatewayClient,
  count: number,
  { campaignIds = [] as string[], timeoutMs = 5000 } = {},
): Promise<IDeliveryReport[]> {
  const stream = client.reports({ campaignIds });
  const reports: IDeliveryReport[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`timed out with ${reports.length}/${count} reports`));
    }, timeoutMs);
    stream.on('data', (report: IDeliveryReport) => {
      reports.push(report);
      if (reports.length === count) {
        clearTimeout(timer);
        stream.cancel();
        resolve(reports);
      }
    });
    stream.on('error', (error: grpc.ServiceError) => {
      if (error.code === grpc.status.CANCELLED) return;
      clearTimeout(timer);
      reject(error);
    });
  });
}
