// Integration level: a real grpc-js server on 127.0.0.1 and the real client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedPortabilityDirectory, createLogger, type DataKey } from '@anshim/core';
import {
  AckStatus,
  Channel,
  ResultCode,
  type CarrierGatewayClient,
  type ReportBatch,
  type SubmitResponse,
} from '@anshim/proto';
import * as grpc from '@grpc/grpc-js';
import { simulatorTransportKey } from './keys.ts';
import { ACK_WINDOW_BATCHES } from './reports.ts';
import { startCarrierSimulator, type CarrierSimulator, type CarrierSimulatorOptions } from './server.ts';
import { collectReports, dialCarrier, sealForCarrier, submitBatches, type PlainMessage } from './testing.ts';

/** Waits for a condition on every turn of the timers (the test's timeout bounds it, not a count). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

const CAMPAIGN = 'cmp-test';
// Numbers the directory places on SKT, KT and LGU+ explicitly, so no test depends on the hash.
const SKT_NUMBER = '01011112222';
const PORTED_NUMBER = '01033334444';
const directory = new SimulatedPortabilityDirectory('test');
directory.port(SKT_NUMBER, 'skt');
directory.port(PORTED_NUMBER, 'kt');
for (let i = 0; i < 1000; i++) directory.port(`0105555${String(i).padStart(4, '0')}`, 'skt');
const sktNumber = (i: number) => `0105555${String(i % 1000).padStart(4, '0')}`;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function start(
  options: Partial<CarrierSimulatorOptions> = {},
): Promise<{ sim: CarrierSimulator; client: CarrierGatewayClient; key: DataKey }> {
  const carrier = options.carrier ?? 'skt';
  const key = simulatorTransportKey(carrier, randomBytes(32));
  const sim = await startCarrierSimulator({
    carrier,
    transportKey: key,
    portability: directory,
    deliveryDelayMs: 5,
    latencyMs: 0,
    seed: 'test',
    logger: createLogger('simulator', { level: 'silent' }),
    ...options,
  });
  const client = dialCarrier(sim.address);
  cleanups.push(
    () => sim.close(),
    () => client.close(),
  );
  return { sim, client, key };
}

let seq = 0;
function message(key: DataKey, overrides: Partial<PlainMessage> = {}) {
  const id = overrides.id ?? `m-${++seq}`;
  return sealForCarrier(key, { id, campaignId: CAMPAIGN, recipient: SKT_NUMBER, text: '안녕하세요', ...overrides });
}

async function submitOne(client: CarrierGatewayClient, m: ReturnType<typeof message>) {
  const [response] = await submitBatches(client, [[m]]);
  const ack = response?.acks[0];
  assert.ok(ack, 'one ack');
  return ack;
}

/** Submits one message and waits for its report's result on the ledger. */
async function finalResult(sim: CarrierSimulator, client: CarrierGatewayClient, m: ReturnType<typeof message>) {
  const ack = await submitOne(client, m);
  assert.equal(ack.status, AckStatus.ACCEPTED);
  await until(() => sim.ledger.resultOf(CAMPAIGN, m.id as string) !== ResultCode.RESULT_UNSPECIFIED);
  return sim.ledger.resultOf(CAMPAIGN, m.id as string);
}

describe('carrier simulator: acceptance and results', () => {
  it('acks each message of a batch in order and reports DELIVERED once per accepted message', async () => {
    const { sim, client, key } = await start();
    const batch = Array.from({ length: 20 }, (_, i) => message(key, { id: `order-${i}`, recipient: sktNumber(i) }));
    const [response] = await submitBatches(client, [batch]);
    assert.deepEqual(
      response?.acks.map((a) => [a.messageId, a.status]),
      batch.map((m) => [m.id, AckStatus.ACCEPTED]),
    );
    const reports = await collectReports(client, 20);
    assert.deepEqual(reports.map((r) => r.messageId).sort(), batch.map((m) => m.id as string).sort());
    assert.ok(
      reports.every((r) => r.result === ResultCode.DELIVERED && r.carrier === 'skt' && r.campaignId === CAMPAIGN),
    );
    assert.equal(sim.ledger.accepted, 20);
    assert.equal(sim.ledger.deliveredMessageIds(CAMPAIGN).length, 20);
    assert.equal(sim.ledger.campaign(CAMPAIGN)?.reaccepted, 0);
  });

  it('limits SMS to 90 carrier bytes and LMS to 2,000', async () => {
    const { sim, client, key } = await start();
    assert.equal(await finalResult(sim, client, message(key, { text: '가'.repeat(45) })), ResultCode.DELIVERED);
    assert.equal(await finalResult(sim, client, message(key, { text: '가'.repeat(46) })), ResultCode.MESSAGE_TOO_LONG);
    const lms = { channel: Channel.LMS };
    assert.equal(
      await finalResult(sim, client, message(key, { ...lms, text: '가'.repeat(1000) })),
      ResultCode.DELIVERED,
    );
    assert.equal(
      await finalResult(sim, client, message(key, { ...lms, text: '가'.repeat(1000) + 'a' })),
      ResultCode.MESSAGE_TOO_LONG,
    );
  });

  it('reports NUMBER_PORTED for a number another operator serves', async () => {
    const { sim, client, key } = await start();
    assert.equal(await finalResult(sim, client, message(key, { recipient: PORTED_NUMBER })), ResultCode.NUMBER_PORTED);
    const kt = await start({ carrier: 'kt' });
    const m = sealForCarrier(kt.key, { id: 'kt-1', campaignId: CAMPAIGN, recipient: PORTED_NUMBER, text: 'hi' });
    assert.equal(await finalResult(kt.sim, kt.client, m), ResultCode.DELIVERED);
  });

  it('reports EXPIRED for a message past expires_at_ms', async () => {
    const { sim, client, key } = await start();
    assert.equal(await finalResult(sim, client, message(key, { expiresAtMs: Date.now() - 1 })), ResultCode.EXPIRED);
    assert.equal(
      await finalResult(sim, client, message(key, { expiresAtMs: Date.now() + 60_000 })),
      ResultCode.DELIVERED,
    );
  });

  it('draws final results from failureRates', async () => {
    const { sim, client, key } = await start({ failureRates: { [ResultCode.HANDSET_OFF]: 0.5 } });
    const batch = Array.from({ length: 200 }, (_, i) => message(key, { recipient: sktNumber(i) }));
    await submitBatches(client, [batch]);
    await collectReports(client, 200);
    const counts = sim.ledger.byResult();
    assert.equal((counts.DELIVERED ?? 0) + (counts.HANDSET_OFF ?? 0), 200);
    assert.ok((counts.HANDSET_OFF ?? 0) > 50 && (counts.DELIVERED ?? 0) > 50, JSON.stringify(counts));
  });
});

describe('carrier simulator: the door', () => {
  it('rejects a tampered frame, a frame moved to another message and a foreign key with decrypt-failed', async () => {
    const { sim, client, key } = await start();
    const tampered = message(key);
    const body = Buffer.from(tampered.sealedBody as Uint8Array);
    body[body.length - 20] = (body[body.length - 20] as number) ^ 1;
    tampered.sealedBody = body;
    const moved = message(key);
    moved.sealedRecipient = message(key).sealedRecipient;
    const foreign = sealForCarrier(simulatorTransportKey('skt', randomBytes(32)), {
      id: 'foreign',
      campaignId: CAMPAIGN,
      recipient: SKT_NUMBER,
      text: 'x',
    });
    const [response] = await submitBatches(client, [[tampered, moved, foreign]]);
    for (const ack of response?.acks ?? []) {
      assert.equal(ack.status, AckStatus.REJECTED);
      assert.equal(ack.detail, 'decrypt-failed');
    }
    assert.equal(response?.acks.length, 3);
    assert.equal(sim.ledger.rejected, 3);
    assert.equal(sim.ledger.accepted, 0);
  });

  it('rejects a channel the carrier does not carry, and malformed messages', async () => {
    const { client, key } = await start();
    const [response] = await submitBatches(client, [
      [message(key, { channel: Channel.ALIMTALK }), { ...message(key), idempotencyKey: '' }],
    ]);
    assert.deepEqual(
      response?.acks.map((a) => [a.status, a.detail]),
      [
        [AckStatus.REJECTED, 'unsupported-channel'],
        [AckStatus.REJECTED, 'malformed'],
      ],
    );
  });

  it('answers DUPLICATE for an idempotency key seen within the window, on any stream', async () => {
    const { sim, client, key } = await start({ dedupeWindowMs: 300 });
    const m = message(key, { idempotencyKey: 'idem-1' });
    const [first, second] = await submitBatches(client, [[m], [m]]);
    assert.equal(first?.acks[0]?.status, AckStatus.ACCEPTED);
    assert.equal(second?.acks[0]?.status, AckStatus.DUPLICATE);
    assert.equal((await submitOne(client, m)).status, AckStatus.DUPLICATE);
    // A fallback of the same logical message uses a new key: accepted, and the ledger says so.
    assert.equal((await submitOne(client, { ...m, idempotencyKey: 'idem-1#fallback' })).status, AckStatus.ACCEPTED);
    assert.equal(sim.ledger.duplicates, 2);
    assert.equal(sim.ledger.accepted, 2);
    assert.equal(sim.ledger.reaccepted, 1);
    await sleep(400);
    assert.equal((await submitOne(client, m)).status, AckStatus.ACCEPTED, 'window passed');
  });

  it('answers THROTTLED with spreading retry hints beyond the rate, and lifts it', async () => {
    const { sim, client, key } = await start({ throttle: 5 });
    const batch = Array.from({ length: 10 }, () => message(key));
    const [response] = await submitBatches(client, [batch]);
    const acks = response?.acks ?? [];
    assert.deepEqual(
      acks.map((a) => a.status),
      [...Array(5).fill(AckStatus.ACCEPTED), ...Array(5).fill(AckStatus.THROTTLED)],
    );
    const hints = acks.slice(5).map((a) => a.retryAfterMs ?? 0);
    assert.ok(
      hints.every((h) => h > 0 && h <= 1200),
      String(hints),
    );
    assert.ok(
      hints.every((h, i) => i === 0 || h > (hints[i - 1] as number)),
      `increasing: ${hints}`,
    );
    assert.equal(sim.ledger.throttled, 5);
    sim.setThrottle(null);
    assert.equal((await submitOne(client, batch[9] as ReturnType<typeof message>)).status, AckStatus.ACCEPTED);
  });
});

describe('carrier simulator: kakao', () => {
  const templates = ['ORDER_SHIPPED'];
  const alim = (key: DataKey, templateCode: string) =>
    message(key, { channel: Channel.ALIMTALK, templateCode, recipient: '01077778888' });

  /** Kakao answers these in the ack (REJECTED + result), so the sender can fall back at once. */
  async function rejectedWith(client: CarrierGatewayClient, m: ReturnType<typeof message>) {
    const ack = await submitOne(client, m);
    assert.equal(ack.status, AckStatus.REJECTED);
    return ack.result;
  }

  it('rejects an unregistered AlimTalk template with TEMPLATE_MISMATCH in the ack', async () => {
    const { sim, client, key } = await start({
      carrier: 'kakao',
      kakaoTemplates: templates,
      kakaoAudience: { notUserShare: 0, blockedShare: 0 },
    });
    assert.equal(await finalResult(sim, client, alim(key, 'ORDER_SHIPPED')), ResultCode.DELIVERED);
    assert.equal(await rejectedWith(client, alim(key, 'NOT_REGISTERED')), ResultCode.TEMPLATE_MISMATCH);
    assert.equal(sim.ledger.rejected, 1);
    const friend = message(key, { channel: Channel.FRIENDTALK, recipient: '01077778888' });
    assert.equal(await finalResult(sim, client, friend), ResultCode.DELIVERED);
  });

  it('rejects NOT_KAKAO_USER and KAKAO_BLOCKED for the numbers its audience shares pick', async () => {
    const notUser = await start({ carrier: 'kakao', kakaoTemplates: templates, kakaoAudience: { notUserShare: 1 } });
    assert.equal(await rejectedWith(notUser.client, alim(notUser.key, 'ORDER_SHIPPED')), ResultCode.NOT_KAKAO_USER);
    const blocked = await start({
      carrier: 'kakao',
      kakaoTemplates: templates,
      kakaoAudience: { notUserShare: 0, blockedShare: 1 },
    });
    assert.equal(await rejectedWith(blocked.client, alim(blocked.key, 'ORDER_SHIPPED')), ResultCode.KAKAO_BLOCKED);
  });
});

describe('carrier simulator: outage', () => {
  it('ends open Submit streams with UNAVAILABLE, refuses new ones, and recovers', async () => {
    const { sim, client, key } = await start();
    const call = client.submit();
    const statuses: grpc.status[] = [];
    const firstAck = new Promise<SubmitResponse>((resolve) => call.once('data', resolve));
    const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    call.write({ messages: [message(key)] });
    assert.equal((await firstAck).acks[0]?.status, AckStatus.ACCEPTED);

    sim.setOutage(true);
    statuses.push((await ended).code);
    const refused = await submitBatches(client, [[message(key)]]).then(
      () => grpc.status.OK,
      (e: grpc.ServiceError) => e.code,
    );
    statuses.push(refused);
    assert.deepEqual(statuses, [grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]);
    assert.equal(sim.ledger.unavailable, 2);

    sim.setOutage(false);
    const [response] = await submitBatches(client, [[message(key)]]);
    assert.equal(response?.acks[0]?.status, AckStatus.ACCEPTED);
  });
});

describe('carrier simulator: reports', () => {
  it('holds reports while no subscriber is connected and hands each to exactly one subscriber', async () => {
    const { sim, client, key } = await start();
    const batch = Array.from({ length: 50 }, (_, i) =>
      message(key, { recipient: sktNumber(i), campaignId: i % 2 ? 'cmp-a' : 'cmp-b' }),
    );
    await submitBatches(client, [batch]);
    await until(() => sim.ledger.pending === 0); // past the delivery delay: produced, nobody to take them
    assert.equal(sim.reportsBuffered, 50);
    const onlyA = await collectReports(client, 25, { campaignIds: ['cmp-a'] });
    assert.ok(onlyA.every((r) => r.campaignId === 'cmp-a'));
    const rest = await collectReports(client, 25);
    assert.ok(rest.every((r) => r.campaignId === 'cmp-b'));
    assert.equal(new Set([...onlyA, ...rest].map((r) => r.messageId)).size, 50);
    assert.equal(sim.reportsBuffered, 0);
  });

  it('streams held reports in batches of at most 500 on ReportBatches', async () => {
    const { sim, client, key } = await start();
    const batches = [0, 1, 2].map((b) =>
      Array.from({ length: 400 }, (_, i) => message(key, { recipient: sktNumber(b * 400 + i) })),
    );
    await submitBatches(client, batches);
    await until(() => sim.ledger.pending === 0);
    assert.equal(sim.reportsBuffered, 1200);
    const sizes: number[] = [];
    const ids = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const call = client.reportBatches({});
      call.on('data', (b: { reports: Array<{ messageId: string }> }) => {
        sizes.push(b.reports.length);
        for (const r of b.reports) ids.add(r.messageId);
        if (ids.size === 1200) {
          call.cancel();
          resolve();
        }
      });
      call.on('error', (err: { code?: number }) => (err.code === 1 ? undefined : reject(err)));
    });
    assert.equal(ids.size, 1200);
    assert.ok(sizes.length >= 3 && sizes.every((n) => n > 0 && n <= 500), `batch sizes ${sizes.join(',')}`);
    assert.equal(sim.reportsBuffered, 0);
  });
});

/** An AckedReports subscriber that acknowledges only what `ack` allows; records every batch it gets. */
function ackedSubscriber(
  client: CarrierGatewayClient,
  ack: (batch: ReportBatch) => boolean,
  campaignIds: string[] = [],
) {
  const call = client.ackedReports();
  const batches: ReportBatch[] = [];
  call.on('data', (b: ReportBatch) => {
    batches.push(b);
    if (ack(b)) call.write({ sequences: [b.sequence] });
  });
  call.on('error', () => undefined); // cancelled by the test
  call.write({ subscribe: { campaignIds } });
  const ids = () => batches.flatMap((b) => b.reports.map((r) => r.messageId));
  return { call, batches, ids };
}

describe('carrier simulator: acknowledged reports', () => {
  it('redelivers to the next subscriber what a stream did not acknowledge, and only that', async () => {
    const { sim, client, key } = await start();
    const batches = [0, 1, 2].map((b) =>
      Array.from({ length: 400 }, (_, i) => message(key, { recipient: sktNumber(b * 400 + i) })),
    );
    await submitBatches(client, batches);
    await until(() => sim.ledger.pending === 0);
    // The first subscriber acknowledges its first batch only, then goes away.
    const first = ackedSubscriber(client, (b) => b.sequence === 1);
    await until(() => first.ids().length === 1200 && sim.ledger.reportsAcked > 0);
    assert.deepEqual(
      first.batches.map((b) => b.sequence),
      first.batches.map((_, i) => i + 1),
      'batches are numbered from 1 on each stream',
    );
    const acked = new Set(first.batches[0]!.reports.map((r) => r.messageId));
    assert.equal(sim.reportsUnacknowledged, 1200 - acked.size);
    first.call.cancel();
    await until(() => sim.ledger.reportsRedelivered === 1200 - acked.size);

    const second = ackedSubscriber(client, () => true);
    await until(() => second.ids().length === 1200 - acked.size);
    assert.ok(
      second.ids().every((id) => !acked.has(id)),
      'an acknowledged report is not sent again',
    );
    assert.equal(new Set([...acked, ...second.ids()]).size, 1200, 'every report reached a subscriber');
    await until(() => sim.reportsBuffered === 0);
    assert.equal(sim.ledger.reportsAcked, 1200);
    second.call.cancel();
  });

  it('holds back what exceeds the ack window until batches are acknowledged', async () => {
    const { sim, client, key } = await start();
    const total = (ACK_WINDOW_BATCHES + 4) * 500;
    const batches = Array.from({ length: total / 500 }, (_, b) =>
      Array.from({ length: 500 }, (_, i) => message(key, { id: `w-${b}-${i}`, recipient: sktNumber(i) })),
    );
    await submitBatches(client, batches);
    await until(() => sim.ledger.pending === 0);
    let acking = false;
    const sub = ackedSubscriber(client, () => acking);
    await until(() => sub.batches.length >= ACK_WINDOW_BATCHES);
    // The hub writes the window's worth at once and then waits for an ack to free a slot.
    assert.equal(sub.batches.length, ACK_WINDOW_BATCHES);
    assert.equal(sim.reportsUnacknowledged, ACK_WINDOW_BATCHES * 500);
    assert.equal(sim.reportsBuffered, total);
    acking = true;
    for (const b of sub.batches) sub.call.write({ sequences: [b.sequence] });
    await until(() => sub.ids().length === total && sim.reportsBuffered === 0);
    assert.equal(sim.ledger.reportsAcked, total);
    sub.call.cancel();
  });

  it('refuses messages with THROTTLED while its report queue is full, never dropping a report', async () => {
    const { sim, client, key } = await start({ maxBufferedReports: 10 });
    const [response] = await submitBatches(client, [
      Array.from({ length: 15 }, (_, i) => message(key, { recipient: sktNumber(i) })),
    ]);
    const statuses = response!.acks.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === AckStatus.ACCEPTED).length, 10);
    const refused = response!.acks.filter((a) => a.status === AckStatus.THROTTLED);
    assert.equal(refused.length, 5);
    assert.ok(refused.every((a) => a.detail === 'report-queue-full' && (a.retryAfterMs ?? 0) > 0));
    assert.equal(sim.ledger.reportQueueFull, 5);
    const sub = ackedSubscriber(client, () => true);
    await until(() => sub.ids().length === 10 && sim.reportsBuffered === 0);
    // Drained: the queue takes messages again.
    assert.equal((await submitOne(client, message(key))).status, AckStatus.ACCEPTED);
    sub.call.cancel();
  });
});

describe('carrier simulator: flow control', () => {
  // Asserts the mechanism, not an amount: however large this machine's HTTP/2 windows and socket
  // buffers, a client that stops taking acks must, at some point, make the server stop reading.
  // The client reads first and then pauses, as the worker's link would: a grpc-js call that never
  // starts reading pauses its HTTP/2 stream only after handing over a message, so until then it
  // buffers whatever arrives and nothing pushes back at all.
  it('stops reading batches while the client does not read acks, then catches up', async () => {
    const { sim, client, key } = await start();
    const call = client.submit();
    let acks = 0;
    call.on('data', (r: SubmitResponse) => (acks += r.acks.length));
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    const batch = (b: number) =>
      Array.from({ length: 100 }, (_, i) => message(key, { id: `fc-${b}-${i}`, recipient: sktNumber(i) }));
    let written = 0;
    call.write({ messages: batch(written++) });
    await until(() => acks > 0);
    call.pause(); // a client that stopped reading acks
    let clientHeld = false;
    // Write until the server has paused reading and our own stream holds what it cannot send.
    while (sim.ledger.readPauses === 0 || !clientHeld) {
      if (!call.write({ messages: batch(written++) })) clientHeld = true;
      if (written % 10 === 0) await sleep(1);
      assert.ok(written < 100_000, 'ten million messages written and the server never pushed back');
    }
    // Paused means not one more batch read, however long the client keeps writing.
    const acceptedAtPause = sim.ledger.accepted;
    for (let more = 0; more < 50; more++) {
      call.write({ messages: batch(written++) });
      await sleep(1);
    }
    assert.equal(sim.ledger.accepted, acceptedAtPause, 'the server read batches while its acks were not taken');
    const total = written * 100;
    call.resume();
    await until(() => acks === total);
    call.end();
    await ended;
    assert.equal(sim.ledger.accepted, total, 'every batch read and acked once the client reads again');
    assert.equal(sim.ledger.acksLost, 0);
  });
});
