import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  AckStatus,
  CarrierGatewayClient,
  Channel,
  ResultCode,
  addCarrierGatewayService,
  type DeliveryReport,
  type IDeliveryReport,
  type ReportBatch,
  type ReportsAck,
  type SubmitRequest,
  type SubmitResponse,
} from './index.ts';

const reports: IDeliveryReport[] = [
  {
    messageId: 'a',
    campaignId: 'c1',
    channel: Channel.SMS,
    carrier: 'kt',
    result: ResultCode.DELIVERED,
    reportedAtMs: 1_718_000_000_001,
  },
  { messageId: 'b', campaignId: 'c2', channel: Channel.ALIMTALK, carrier: 'kakao', result: ResultCode.NOT_KAKAO_USER },
  { messageId: 'c', campaignId: 'c1', channel: Channel.LMS, carrier: 'kt', result: ResultCode.HANDSET_OFF },
];

let server: grpc.Server;
let client: CarrierGatewayClient;

before(async () => {
  server = new grpc.Server();
  addCarrierGatewayService(server, {
    submit(call) {
      // Ack each batch: messages on attempt 0 are accepted, the rest throttled.
      call.on('data', (req: SubmitRequest) => {
        call.write({
          acks: req.messages.map((m) =>
            m.attempt === 0
              ? { messageId: m.id, status: AckStatus.ACCEPTED }
              : {
                  messageId: m.id,
                  status: AckStatus.THROTTLED,
                  result: ResultCode.THROTTLED,
                  retryAfterMs: 100 * (m.attempt ?? 0),
                },
          ),
        });
      });
      call.on('end', () => call.end());
    },
    reports(call) {
      const wanted = new Set(call.request.campaignIds);
      for (const r of reports) if (wanted.size === 0 || wanted.has(r.campaignId ?? '')) call.write(r);
      call.end();
    },
    reportBatches(call) {
      call.write({ reports: reports.slice(0, 2) });
      call.write({ reports: reports.slice(2) });
      call.end();
    },
    ackedReports(call) {
      // Subscribe, then one numbered batch per report of the campaign; end once all are acked.
      const unacked = new Set<number>();
      call.on('data', (m: ReportsAck) => {
        if (m.subscribe) {
          const wanted = new Set(m.subscribe.campaignIds);
          reports
            .filter((r) => wanted.size === 0 || wanted.has(r.campaignId ?? ''))
            .forEach((r, i) => {
              unacked.add(i + 1);
              call.write({ reports: [r], sequence: i + 1 });
            });
          return;
        }
        for (const s of m.sequences) unacked.delete(s);
        if (unacked.size === 0) call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  client = new CarrierGatewayClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  client.close();
  server.forceShutdown();
});

test('Submit streams batches and receives per-message acks', async () => {
  const call = client.submit();
  const received: SubmitResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (res: SubmitResponse) => received.push(res));
    call.on('error', reject);
    call.on('end', resolve);
  });
  call.write({
    messages: [
      { id: 'm1', attempt: 0, sealedRecipient: Buffer.from([1, 2, 3]) },
      { id: 'm2', attempt: 2 },
    ],
  });
  call.write({ messages: [{ id: 'm3', attempt: 0, expiresAtMs: 1_718_000_000_000 }] });
  call.end();
  await done;
  const acks = received.flatMap((r) => r.acks);
  assert.deepEqual(
    acks.map((a) => [a.messageId, a.status, a.result, a.retryAfterMs]),
    [
      ['m1', AckStatus.ACCEPTED, ResultCode.RESULT_UNSPECIFIED, 0],
      ['m2', AckStatus.THROTTLED, ResultCode.THROTTLED, 200],
      ['m3', AckStatus.ACCEPTED, ResultCode.RESULT_UNSPECIFIED, 0],
    ],
  );
});

async function collectReports(campaignIds: string[]): Promise<DeliveryReport[]> {
  const out: DeliveryReport[] = [];
  const stream = client.reports({ campaignIds });
  for await (const r of stream) out.push(r as DeliveryReport);
  return out;
}

test('Reports streams all delivery reports, or only the requested campaigns', async () => {
  const all = await collectReports([]);
  assert.deepEqual(
    all.map((r) => r.messageId),
    ['a', 'b', 'c'],
  );
  assert.equal(all[0]?.reportedAtMs, 1_718_000_000_001);
  assert.equal(all[1]?.result, ResultCode.NOT_KAKAO_USER);
  const c1 = await collectReports(['c1']);
  assert.deepEqual(
    c1.map((r) => [r.messageId, r.result]),
    [
      ['a', ResultCode.DELIVERED],
      ['c', ResultCode.HANDSET_OFF],
    ],
  );
});

test('ReportBatches streams reports in batches', async () => {
  const batches: number[] = [];
  const ids: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const call = client.reportBatches({});
    call.on('data', (b: { reports: Array<{ messageId: string }> }) => {
      batches.push(b.reports.length);
      ids.push(...b.reports.map((r) => r.messageId));
    });
    call.on('end', resolve);
    call.on('error', reject);
  });
  assert.deepEqual(batches, [2, 1]);
  assert.deepEqual(ids, ['a', 'b', 'c']);
});

test('AckedReports subscribes with its first message and acknowledges batches by sequence', async () => {
  const call = client.ackedReports();
  const seen: Array<[number, string]> = [];
  const ended = new Promise<void>((resolve, reject) => {
    call.on('data', (b: ReportBatch) => {
      seen.push([b.sequence, b.reports[0]?.messageId ?? '']);
      call.write({ sequences: [b.sequence] });
    });
    call.on('end', resolve);
    call.on('error', reject);
  });
  call.write({ subscribe: { campaignIds: ['c1'] } });
  await ended; // the server ends the stream only once each batch was acknowledged
  call.end();
  assert.deepEqual(seen, [
    [1, 'a'],
    [2, 'c'],
  ]);
});
