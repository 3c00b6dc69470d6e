import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, generateDataKey, type DataKey } from '@anshim/core';
import { ResultCode, type IRecipientPayload } from '@anshim/proto';
import {
  startPrometheus,
  type PrometheusSample,
  type PrometheusServer,
  alimTalkCampaign,
  createCampaignTopic,
  fakeRecipients,
  produceRecipients,
  scanFiles,
  stackKafka,
  TestCarriers,
  textCampaign,
  waitFor,
} from '@anshim/dev-platform';
import {
  inSpan,
  kafkaSendSpan,
  readSpanFile,
  startTelemetry,
  type SpanRecord,
  type Telemetry,
} from '@anshim/telemetry';
import { StaticCampaignDirectory, type CampaignSpec } from './campaign.ts';
import { StaticCampaignKeys } from './keys.ts';
import { MessagingWorker } from './worker.ts';
import { campaignTopic, workerGroupId } from '@anshim/api';

const CANARY = { phone: '010-9999-0417', national: '01099990417', e164: '+821099990417', name: '카나리아' };
const sum = (samples: PrometheusSample[]): number => samples.reduce((n, s) => n + Number(s.value[1]), 0);

describe('worker telemetry: real Prometheus scraping a worker, traces from producer to carrier', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anshim-telemetry-it-'));
  const traceFile = join(tmp, 'spans.jsonl');
  const kafka = stackKafka('telemetry-it');
  const carriers = new TestCarriers();
  const stamp = Date.now();
  // A: AlimTalk falling back to SMS/LMS, one producer span. B: two producer spans into one partition.
  const specA = alimTalkCampaign(`tele-a-${stamp}`);
  const specB = textCampaign(`tele-b-${stamp}`);
  const recipientsA = [...fakeRecipients(600), { phone: CANARY.phone, name: CANARY.name, vars: { code: '4242' } }];
  let telemetry: Telemetry;
  let prometheus: PrometheusServer;
  let worker: MessagingWorker;
  let spans: SpanRecord[] = [];
  let metricsText = '';
  let viaSms = 0;
  let sends = 0;

  /** Produces inside one send span, as the gateway will: every record carries its traceparent. */
  async function produce(spec: CampaignSpec, key: DataKey, recipients: IRecipientPayload[], extra: Buffer[] = []) {
    const topic = campaignTopic(spec.id);
    const span = kafkaSendSpan(topic, recipients.length + extra.length, { 'anshim.campaign.id': spec.id });
    await inSpan(telemetry.tracer, span, () =>
      produceRecipients(kafka, topic, key, spec.id, recipients, { idPrefix: `s${sends++}-`, extraValues: extra }),
    );
  }

  before(async () => {
    telemetry = await startTelemetry({ service: 'anshim-worker', metricsPort: 0, metricsHost: '127.0.0.1', traceFile });
    prometheus = await startPrometheus({ targets: [new URL(telemetry.metricsUrl!).host], name: 'telemetry-it' });
    await carriers.start({
      kakaoAudience: { notUserShare: 0.2, blockedShare: 0.05 },
      failureRates: { [ResultCode.HANDSET_OFF]: 0.02 },
      logger: createLogger('simulator', { destination: join(tmp, 'simulator.log') }),
    });
    const keyA = generateDataKey(specA.id);
    const keyB = generateDataKey(specB.id);
    await createCampaignTopic(kafka, campaignTopic(specA.id), 3);
    await createCampaignTopic(kafka, campaignTopic(specB.id), 1);
    const invalid = { phone: '02-123-4567', name: '유선번호', vars: { code: '1' } };
    await produce(specA, keyA, [...recipientsA, invalid], [Buffer.from('not a record')]);
    await produce(specB, keyB, [...fakeRecipients(40)]);
    await produce(specB, keyB, [...fakeRecipients(40, 40)]);

    const keys = new StaticCampaignKeys();
    keys.add(specA.id, { id: keyA.id, material: keyA.material });
    keys.add(specB.id, { id: keyB.id, material: keyB.material });
    worker = new MessagingWorker(
      carriers.workerConfig(specA, {
        groupId: workerGroupId(`tele-${stamp}`),
        topics: [campaignTopic(specA.id), campaignTopic(specB.id)],
      }),
      {
        campaigns: new StaticCampaignDirectory([specA, specB]),
        keys,
        log: createLogger('worker', { destination: join(tmp, 'worker.log') }),
      },
    );
    await worker.start();
    await waitFor('campaign A accepted', () => carriers.accepted(specA.id) >= recipientsA.length, 120_000);
    await waitFor('campaign B accepted', () => carriers.accepted(specB.id) >= 80, 60_000);
    viaSms = carriers.accepted(specA.id, ['skt', 'kt', 'lguplus']);
    // A batch's process span ends once every record in it is final (fallbacks, dead letters flushed).
    const processed = (spec: CampaignSpec): number =>
      spans
        .filter((s) => s.kind === 'CONSUMER' && s.attributes['anshim.campaign.id'] === spec.id)
        .reduce((n, s) => n + Number(s.attributes['messaging.batch.message_count']), 0);
    await waitFor('every batch’s process span exported', async () => {
      await telemetry.flush();
      spans = readSpanFile(traceFile);
      return processed(specA) === recipientsA.length + 2 && processed(specB) === 80;
    });
    metricsText = await (await fetch(telemetry.metricsUrl!)).text();
  });

  after(async () => {
    await worker?.stop();
    await telemetry?.shutdown();
    await prometheus?.stop();
    await carriers.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('Prometheus scrapes messages by channel and result, latency buckets, fallbacks, dead letters and the pool', async () => {
    const a = `campaign="${specA.id}"`;
    await waitFor('the worker scraped', async () => (await prometheus.targets())[0]?.health === 'up');

    const accepted = await prometheus.waitFor(
      `sum by (channel) (anshim_worker_messages_total{${a},result="ACCEPTED"})`,
      (s) => sum(s) === recipientsA.length,
    );
    const byChannel = Object.fromEntries(accepted.map((s) => [s.metric.channel, Number(s.value[1])]));
    assert.equal(byChannel.ALIMTALK, recipientsA.length - viaSms);
    assert.equal((byChannel.SMS ?? 0) + (byChannel.LMS ?? 0), viaSms);

    const refused = await prometheus.waitFor(
      `sum by (result) (anshim_worker_messages_total{${a},channel="ALIMTALK",result=~"NOT_KAKAO_USER|KAKAO_BLOCKED"})`,
      (s) => sum(s) === viaSms,
    );
    assert.deepEqual(refused.map((s) => s.metric.result).sort(), ['KAKAO_BLOCKED', 'NOT_KAKAO_USER']);
    await prometheus.waitFor(`sum(anshim_worker_fallbacks_total{${a},channel="ALIMTALK"})`, (s) => sum(s) === viaSms);

    // Produce→ack latency: cumulative buckets, +Inf holding every accepted message.
    const buckets = await prometheus.waitFor(
      `sum by (le) (anshim_worker_ack_latency_seconds_bucket{${a}})`,
      (s) => sum(s.filter((b) => b.metric.le === '+Inf')) === recipientsA.length,
    );
    assert.ok(buckets.length >= 10, `${buckets.length} buckets`);
    const ordered = buckets
      .map((b) => [b.metric.le === '+Inf' ? Infinity : Number(b.metric.le), Number(b.value[1])] as const)
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ordered.length; i++) assert.ok(ordered[i]![1] >= ordered[i - 1]![1], 'cumulative');
    const [p99] = await prometheus.query(
      `histogram_quantile(0.99, sum by (le) (anshim_worker_ack_latency_seconds_bucket{${a}}))`,
    );
    assert.ok(Number(p99?.value[1]) > 0, 'a p99 latency Prometheus can compute');

    const dead = await prometheus.waitFor(`anshim_worker_dead_letters_total{${a}}`, (s) => sum(s) === 2);
    assert.deepEqual(dead.map((s) => s.metric.reason).sort(), ['invalid-phone', 'malformed-record']);
    await prometheus.waitFor(`anshim_worker_records_consumed_total{${a}}`, (s) => sum(s) === recipientsA.length + 2);
    await prometheus.waitFor(`sum(anshim_worker_delivery_reports_total{${a},result="DELIVERED"})`, (s) => sum(s) > 0);
    const [threads] = await prometheus.waitFor('anshim_worker_pool_threads');
    assert.equal(Number(threads?.value[1]), 2);
    await prometheus.waitFor('anshim_worker_pool_utilization');
    await prometheus.waitFor('anshim_worker_pool_queue_size');

    // Every label Prometheus stored is one of ours.
    const series = await prometheus.query('{__name__=~"anshim_worker_.+"}');
    const labels = new Set(series.flatMap((s) => Object.keys(s.metric)));
    for (const l of labels) {
      assert.ok(
        ['__name__', 'job', 'instance', 'campaign', 'channel', 'carrier', 'result', 'reason', 'le'].includes(l),
        l,
      );
    }
  });

  test('one trace runs from the producer’s send span through the worker’s process span to each carrier Submit', () => {
    const send = spans.find((s) => s.kind === 'PRODUCER' && s.name === `send ${campaignTopic(specA.id)}`);
    assert.ok(send, 'the test producer’s send span');
    const processes = spans.filter((s) => s.kind === 'CONSUMER' && s.parentSpanId === send.spanId);
    assert.ok(processes.length > 0, 'process spans parented by the send span');
    for (const p of processes) {
      assert.equal(p.traceId, send.traceId);
      assert.equal(p.name, `process ${campaignTopic(specA.id)}`);
      assert.equal(p.attributes['messaging.system'], 'kafka');
      assert.equal(p.attributes['messaging.operation.type'], 'process');
      assert.equal(p.attributes['messaging.destination.name'], campaignTopic(specA.id));
      assert.equal(p.attributes['messaging.consumer.group.name'], workerGroupId(`tele-${stamp}`));
      assert.equal(p.attributes['anshim.campaign.id'], specA.id);
      assert.equal(typeof p.attributes['messaging.batch.message_count'], 'number');
    }
    const processIds = new Set(processes.map((p) => p.spanId));
    const submits = spans.filter((s) => s.kind === 'CLIENT' && processIds.has(s.parentSpanId ?? ''));
    assert.ok(submits.every((s) => s.traceId === send.traceId));
    assert.ok(submits.every((s) => s.name === 'anshim.carrier.v1.CarrierGateway/Submit'));
    assert.ok(submits.every((s) => s.attributes['rpc.system'] === 'grpc' && s.attributes['rpc.method'] === 'Submit'));
    const carriersSeen = new Set(submits.map((s) => s.attributes['anshim.carrier']));
    assert.ok(carriersSeen.has('kakao'), 'AlimTalk submits');
    assert.ok(
      ['skt', 'kt', 'lguplus'].some((c) => carriersSeen.has(c)),
      'fallback SMS/LMS submits in the same trace',
    );
    const submitted = submits
      .filter((s) => s.attributes['anshim.carrier'] === 'kakao')
      .reduce((n, s) => n + Number(s.attributes['anshim.carrier.message_count']), 0);
    assert.ok(submitted >= recipientsA.length, 'every AlimTalk message went out under a traced Submit');
  });

  test('a batch mixing two producers’ records starts its own trace, linked to both', () => {
    // The test producer's sends (the worker's own `send anshim.reports` spans carry the campaign id too).
    const sends = spans.filter((s) => s.kind === 'PRODUCER' && s.name === `send ${campaignTopic(specB.id)}`);
    assert.equal(sends.length, 2);
    const processB = spans.filter((s) => s.kind === 'CONSUMER' && s.attributes['anshim.campaign.id'] === specB.id);
    const mixed = processB.find((p) => p.links.length === 2);
    assert.ok(mixed, `a process span linking both sends (${processB.map((p) => p.links.length).join(',')})`);
    assert.deepEqual(mixed.links.map((l) => l.spanId).sort(), sends.map((s) => s.spanId).sort());
    assert.equal(mixed.parentSpanId, undefined);
    assert.ok(sends.every((s) => s.traceId !== mixed.traceId));
  });

  test('canary: no planted phone number or name in the span file, the metrics text or Prometheus’ storage', async () => {
    assert.ok(spans.length > 10 && metricsText.includes('anshim_worker_messages_total'), 'the scan read real output');
    const needles = [CANARY.national, CANARY.phone, CANARY.e164, CANARY.name, '유선번호', '01020000000'];
    const spanText = readFileSync(traceFile, 'utf8');
    for (const n of needles) {
      assert.equal(spanText.includes(n), false, `span file contains ${n}`);
      assert.equal(metricsText.includes(n), false, `metrics contain ${n}`);
    }
    assert.doesNotMatch(metricsText, /redacted/, 'nothing needed redacting: personal data never reached a label');
    // A snapshot writes the in-memory head as a block: scan it and everything else Prometheus stored.
    const snapshot = await prometheus.snapshot();
    assert.deepEqual(
      scanFiles(
        prometheus.dir,
        needles.map((n) => Buffer.from(n)),
      ),
      [],
    );
    // Control: the scan does see what Prometheus stores (the campaign id label in the block's index).
    assert.ok(scanFiles(snapshot, [Buffer.from(specA.id)]).length > 0);
  });
});
