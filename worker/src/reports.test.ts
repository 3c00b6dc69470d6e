// The report pump against a real carrier simulator over gRPC; Kafka is a stand-in producer
// here (the real broker is in faults.integration.test.ts), so a refused produce is exact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { Message, Producer } from 'kafkajs';
import { SimulatedPortabilityDirectory, createLogger } from '@anshim/core';
import { ReportBatchRecord, ResultCode, CARRIER_GATEWAY_SERVICE_NAME, ReportBatch } from '@anshim/proto';
import {
  dialCarrier,
  sealForCarrier,
  simulatorTransportKey,
  startCarrierSimulator,
  submitBatches,
  type CarrierSimulator,
} from '@anshim/dev-platform';
import { StaticCampaignDirectory } from './campaign.ts';
import { ProgressCounters } from './progress.ts';
import { ReportsPump } from './reports.ts';
import { BatchingSink } from './sink.ts';

const log = createLogger('worker', { level: 'silent' });
const directory = new SimulatedPortabilityDirectory('reports-test');
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

/** A producer that refuses while `refusing()` holds and records the report ids it accepted. */
function recordingProducer(refusing: () => boolean, onSend?: () => void) {
  const ids: string[] = [];
  let refused = 0;
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }) => {
      onSend?.();
      if (refusing()) {
        refused++;
        throw new Error('broker refused');
      }
      for (const t of topicMessages)
        for (const m of t.messages)
          for (const r of ReportBatchRecord.decode(m.value as Buffer).reports) ids.push(r.report?.messageId ?? '');
      return [];
    },
  } as unknown as Producer;
  return { producer, ids, refused: () => refused };
}

function pumpOn(sim: { address: string }, producer: Producer, progress = new ProgressCounters('w-test')): ReportsPump {
  return new ReportsPump(
    'skt',
    sim.address,
    grpc.credentials.createInsecure(),
    {},
    {
      sink: new BatchingSink(producer, 'w-test', { lingerMs: 5, maxBatch: 2000 }),
      progress,
      campaigns: new StaticCampaignDirectory(),
      workerId: 'w-test',
      log,
    },
  );
}

/** A simulator with `count` reports of campaign `campaignId` produced and waiting for a subscriber. */
async function carrierWithReports(campaignId: string, count: number): Promise<CarrierSimulator> {
  const key = simulatorTransportKey('skt', randomBytes(32));
  const sim = await startCarrierSimulator({
    carrier: 'skt',
    transportKey: key,
    portability: directory,
    deliveryDelayMs: 1,
    latencyMs: 0,
    logger: log,
  });
  const client = dialCarrier(sim.address);
  cleanups.push(() => sim.close());
  const numbers = Array.from({ length: count }, (_, i) => `0105555${String(i % 10_000).padStart(4, '0')}`);
  for (const n of numbers) directory.port(n, 'skt');
  const messages = numbers.map((recipient, i) =>
    sealForCarrier(key, { id: `${campaignId}-${i}`, campaignId, recipient, text: '안녕' }),
  );
  for (let i = 0; i < messages.length; i += 500) await submitBatches(client, [messages.slice(i, i + 500)]);
  client.close();
  await until(() => sim.ledger.pending === 0);
  return sim;
}

test('a batch is acknowledged only once Kafka has its reports; a refused produce is retried, not skipped', async () => {
  const sim = await carrierWithReports('c-refused', 1500);
  let refusing = true;
  let ackedBeyondDurable = 0;
  const kafka = recordingProducer(
    () => refusing,
    // Each send is a moment to check: the carrier never holds an ack for a report not yet durable.
    () => (ackedBeyondDurable = Math.max(ackedBeyondDurable, sim.ledger.reportsAcked - kafka.ids.length)),
  );
  const pump = pumpOn(sim, kafka.producer);
  try {
    await until(() => kafka.refused() >= 3);
    assert.equal(sim.ledger.reportsAcked, 0, 'nothing acknowledged while the broker refuses');
    assert.equal(sim.reportsUnacknowledged, 1500);
    refusing = false;
    await until(() => sim.ledger.reportsAcked === 1500);
    assert.equal(ackedBeyondDurable, 0);
    assert.equal(new Set(kafka.ids).size, 1500, 'every report reached Kafka');
    assert.equal(sim.reportsBuffered, 0);
  } finally {
    await pump.stop();
  }
});

test('a worker gone before its reports were durable: the next one gets every report it did not acknowledge', async () => {
  const sim = await carrierWithReports('c-gone', 1200);
  const dead = recordingProducer(() => true);
  const firstCounts = new ProgressCounters('w-first');
  const first = pumpOn(sim, dead.producer, firstCounts);
  await until(() => sim.reportsUnacknowledged === 1200 && dead.refused() > 0);
  await first.stop(); // its stream ends with nothing acknowledged: the carrier takes the batches back
  await until(() => sim.ledger.reportsRedelivered === 1200);
  // Not durable, not counted: the worker that gets them counts them (else twice, and early).
  assert.equal(firstCounts.get('c-gone'), undefined);
  const alive = recordingProducer(() => false);
  const secondCounts = new ProgressCounters('w-second');
  const second = pumpOn(sim, alive.producer, secondCounts);
  try {
    await until(() => sim.ledger.reportsAcked === 1200);
    assert.equal(new Set(alive.ids).size, 1200);
    assert.deepEqual([...new Set(alive.ids)].sort(), Array.from({ length: 1200 }, (_, i) => `c-gone-${i}`).sort());
    assert.deepEqual(secondCounts.get('c-gone')?.results, { DELIVERED: 1200 });
  } finally {
    await second.stop();
  }
});

test('a carrier without AckedReports is followed on ReportBatches', async () => {
  // An older carrier: only ReportBatches (grpc-js answers UNIMPLEMENTED for the rest).
  const server = new grpc.Server();
  const report = { messageId: 'old-1', campaignId: 'c-old', carrier: 'skt', result: ResultCode.DELIVERED };
  server.addService(
    {
      reportBatches: {
        path: `/${CARRIER_GATEWAY_SERVICE_NAME}/ReportBatches`,
        requestStream: false,
        responseStream: true,
        requestSerialize: () => Buffer.alloc(0),
        requestDeserialize: () => ({}),
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      reportBatches: (call: grpc.ServerWritableStream<unknown, Buffer>) => {
        call.write(Buffer.from(ReportBatch.encode({ reports: [report] }).finish()));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  const kafka = recordingProducer(() => false);
  const pump = pumpOn({ address: `127.0.0.1:${port}` }, kafka.producer);
  try {
    await until(() => kafka.ids.length > 0);
    assert.deepEqual(kafka.ids, ['old-1']);
  } finally {
    await pump.stop();
  }
});
