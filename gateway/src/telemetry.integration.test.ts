// One trace from the gateway to the delivery report, across real processes: the gateway here
// (its own telemetry, a real Kafka producer), a worker process and a carrier-simulator process,
// each exporting spans to a file of its own. Asserts the parent and link relationships and the
// messaging / RPC attributes of every hop, and that no span file holds a number or a name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { carrierKeyFromFleetSecret, createLogger, LocalKekProvider, type CarrierId } from '@anshim/core';
import { ReportBatchRecord, type ReportRecord } from '@anshim/proto';
import {
  kubeConfig,
  kubectl,
  repoRoot,
  requireStack,
  serviceAccountToken,
  carrierTlsFiles,
  createCampaignTopic,
  scanFiles,
  stackKafka,
  textCampaign,
  waitFor,
  startProcess,
  stopProcess,
  type Started,
  workerKafkaFile,
} from '@anshim/dev-platform';
import { readSpanFile, startTelemetry, type SpanRecord, type Telemetry } from '@anshim/telemetry';
import { campaignTopic, TOPICS, workerGroupId, type WorkerFile } from '@anshim/api';
// The worker's integration harness (real topics, certificates, canary scan); not part of its public exports.
import { StaticCampaignLookup } from './campaigns.ts';
import { KubernetesAccessControl } from './kubernetes-access.ts';
import { createGatewayServer, type GatewayServer } from './server.ts';
import { memoryKeys } from './test-fixtures.ts';

const CARRIERS: CarrierId[] = ['skt', 'kt', 'lguplus'];
const CANARY = { phone: '010-9999-0417', national: '01099990417', e164: '+821099990417', name: '카나리아' };
const OTHERS = [
  { phone: '010-2000-0001', name: '김민준' },
  { phone: '010-2000-0002', name: '이서연' },
];
const SUBMIT = 'anshim.carrier.v1.CarrierGateway/Submit';

interface ReportsRecord {
  headers: Record<string, string>;
  reports: ReportRecord[];
}

describe('one trace: gateway send → worker process → carrier Submit → report publish', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anshim-trace-it-'));
  const files = {
    gateway: join(tmp, 'gateway.jsonl'),
    worker: join(tmp, 'worker.jsonl'),
    sims: join(tmp, 'sims.jsonl'),
  };
  const stamp = Date.now().toString(36);
  const spec = textCampaign(`trace-${stamp}.otp`, {
    purpose: 'transactional',
    template: '[안심은행] #{name}님 인증번호 #{code}',
    processors: CARRIERS,
  });
  const topic = campaignTopic(spec.id, 'transactional');
  const kafka = stackKafka('trace-it');
  const processes: Array<Started<unknown>> = [];
  let telemetry: Telemetry;
  let producer: Producer;
  let app: GatewayServer;
  let url = '';
  let token = '';
  let spans: SpanRecord[] = [];
  const records: ReportsRecord[] = [];
  let stopReading: () => Promise<void> = async () => undefined;

  const send = async (recipient: { phone: string; name: string }, code: string) => {
    const res = await fetch(`${url}/v1/campaigns/${spec.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ purpose: 'transactional', recipient: { ...recipient, vars: { code } } }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    return (await res.json()) as { recordId: string };
  };
  const reportsFor = (recordId: string) =>
    records.filter((r) => r.reports.some((x) => x.report?.messageId === recordId));
  const readSpans = async () => {
    await telemetry.flush();
    spans = Object.values(files).flatMap((f) => readSpanFile(f));
  };
  const byId = (id: string | undefined) => spans.find((s) => s.spanId === id);
  // For a failure message: the first span on the way up from `id` that is not in the files.
  const firstMissingHop = (id: string | undefined, via = 'report'): string => {
    const span = byId(id);
    if (span === undefined) return `${via} → ${id ?? 'no traceparent'} not exported`;
    for (const next of [span.parentSpanId, ...span.links.map((l) => l.spanId)]) {
      if (next === undefined) continue;
      const hop = firstMissingHop(next, `${via} → ${span.service}/${span.name}`);
      if (hop !== '') return hop;
    }
    return '';
  };
  const hasAttributes = (span: SpanRecord, expected: Record<string, unknown>) =>
    assert.deepEqual(
      Object.fromEntries(Object.keys(expected).map((k) => [k, span.attributes[k]])),
      expected,
      span.name,
    );
  const childrenOf = (span: SpanRecord, kind: SpanRecord['kind']) =>
    spans.filter((s) => s.parentSpanId === span.spanId && s.traceId === span.traceId && s.kind === kind);

  let pair: { recordId: string }[] = [];
  let canary: { recordId: string } | undefined;

  before(async () => {
    telemetry = await startTelemetry({ service: 'anshim-gateway', traceFile: files.gateway });
    await createCampaignTopic(kafka, topic, 1);

    // Carrier simulators, a process of their own with telemetry on (the carrier hop becomes a span).
    const tls = carrierTlsFiles();
    const psk = randomBytes(32);
    const simConfig = join(tmp, 'simulators.json');
    writeFileSync(
      simConfig,
      JSON.stringify({
        host: '127.0.0.1',
        pskHex: psk.toString('hex'),
        tls: { ca: tls.ca, cert: tls.server.cert, key: tls.server.key },
        defaults: { deliveryDelayMs: 5 },
        carriers: Object.fromEntries(CARRIERS.map((c) => [c, {}])),
      }),
      { mode: 0o600 },
    );
    const sims = await startProcess<{ carriers: Record<string, { port: number }> }>(
      'simulators',
      ['simulator/src/main.ts', simConfig],
      {
        cwd: repoRoot,
        logFile: join(tmp, 'simulators.log'),
        env: { ANSHIM_TRACE_FILE: files.sims },
        isReady: (line) => line.startsWith('{"carriers"'),
      },
    );
    processes.push(sims);

    // The OTP system's caller: a ServiceAccount of the campaign's namespace with the sender role.
    kubectl(['create', 'namespace', `trace-${stamp}`]);
    token = await serviceAccountToken(kubeConfig(), `trace-${stamp}`, 'otp', { role: 'anshim-sender' });

    // The gateway, in this process: the campaign's key, a real idempotent producer, HTTP on 127.0.0.1.
    const keys = memoryKeys();
    await keys.ensure(spec.id);
    producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    app = createGatewayServer({
      keys,
      campaigns: new StaticCampaignLookup([
        [
          spec.id,
          { purpose: 'transactional', priorityClass: 'transactional', phase: 'Sending', topic, channel: 'TEXT' },
        ],
      ]),
      producer,
      logger: createLogger('gateway', { destination: join(tmp, 'gateway.log') }),
      access: new KubernetesAccessControl(kubeConfig()),
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });

    // Two messages at once, before any worker runs: the worker's first batch holds both.
    pair = await Promise.all(OTHERS.map((r, i) => send(r, String(1000 + i))));

    // The worker, a process with telemetry on, configured as its pod would be (wrapped key, key files).
    const kekMaterial = randomBytes(32);
    writeFileSync(join(tmp, 'kek'), kekMaterial.toString('hex'), { mode: 0o600 });
    const [dataKey] = await keys.open(spec.id);
    const wrapped = await new LocalKekProvider('trace-kek', kekMaterial).wrap(dataKey!, spec.id);
    dataKey!.destroy();
    const workerFile: WorkerFile = {
      brokers: requireStack().kafka.brokers,
      ...workerKafkaFile(tmp),
      groupId: workerGroupId(spec.id),
      topics: [topic],
      carriers: Object.fromEntries(CARRIERS.map((c) => [c, { address: `127.0.0.1:${sims.ready.carriers[c]!.port}` }])),
      carrierKeys: CARRIERS.map((c) => {
        const k = carrierKeyFromFleetSecret(c, psk);
        return { carrier: c, id: k.id, materialHex: Buffer.from(k.material).toString('hex') };
      }),
      tls: { caFile: tls.ca, certFile: tls.client.cert, keyFile: tls.client.key, serverName: 'localhost' },
      kek: { id: 'trace-kek', file: join(tmp, 'kek') },
      campaigns: [{ spec, wrappedKeys: [wrapped.toString('base64')] }],
      poolThreads: 1,
      maxAttempts: 40,
    };
    writeFileSync(join(tmp, 'worker.json'), JSON.stringify(workerFile), { mode: 0o600 });
    processes.push(
      await startProcess('worker', ['worker/src/main.ts'], {
        cwd: repoRoot,
        logFile: join(tmp, 'worker.log'),
        env: { ANSHIM_WORKER_CONFIG: join(tmp, 'worker.json'), ANSHIM_TRACE_FILE: files.worker },
      }),
    );

    // The reports topic as a reader sees it: headers and the unpacked reports of this campaign.
    const consumer = kafka.consumer({ groupId: `trace-it-reports-${stamp}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.reports], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== spec.id || !message.value) return;
        records.push({
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          reports: ReportBatchRecord.decode(message.value).reports as ReportRecord[],
        });
      },
    });
    stopReading = () => consumer.disconnect();
    await waitFor('the pair’s reports', () => pair.every((m) => reportsFor(m.recordId).length > 0), 90_000);

    // Then one message alone: its batch, its Submit and its report record are its own.
    canary = await send({ phone: CANARY.phone, name: CANARY.name }, '4242');
    await waitFor('the canary’s report', () => reportsFor(canary!.recordId).length > 0, 60_000);
    // Wait for the spans themselves: every report record's traceparent names an exported span whose
    // ancestors are all exported too, and every gateway send is parented or linked by a process span.
    // (Counting spans is not enough: the pair alone can make two report sends before the canary's.)
    let missing = '';
    await waitFor(
      'every hop’s span exported',
      async () => {
        await readSpans();
        const ids = new Set(spans.map((s) => s.spanId));
        const rooted = (id: string | undefined): boolean => {
          const span = byId(id);
          return (
            span !== undefined &&
            span.links.every((l) => rooted(l.spanId)) &&
            (span.parentSpanId === undefined || rooted(span.parentSpanId))
          );
        };
        const consumed = (send: SpanRecord) =>
          spans.some(
            (c) =>
              c.kind === 'CONSUMER' &&
              (c.parentSpanId === send.spanId || c.links.some((l) => l.spanId === send.spanId)),
          );
        const sends = spans.filter((s) => s.service === 'anshim-gateway' && s.kind === 'PRODUCER');
        const headers = records.map(
          (r) => /^00-[0-9a-f]{32}-([0-9a-f]{16})-01$/.exec(r.headers.traceparent ?? '')?.[1],
        );
        const unrooted = headers.filter((id) => id === undefined || !ids.has(id) || !rooted(id));
        const unconsumed = sends.filter((s) => !consumed(s));
        const tally = new Map<string, number>();
        for (const key of spans.map((s) => `${s.service}/${s.kind}/${s.name}`))
          tally.set(key, (tally.get(key) ?? 0) + 1);
        missing =
          `${records.length} report records, ${unrooted.length} not rooted (${unrooted.map((id) => firstMissingHop(id)).join('; ')}); ` +
          `${sends.length} gateway sends, ${unconsumed.length} not consumed; spans: ${[...tally].map(([k, n]) => `${k}×${n}`).join(', ')}`;
        return unrooted.length === 0 && sends.length === 3 && unconsumed.length === 0;
      },
      60_000,
      () => missing,
    );
  });

  after(async () => {
    await stopReading();
    for (const p of processes.reverse()) await stopProcess(p);
    await app?.close();
    await producer?.disconnect();
    await telemetry?.shutdown();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the message’s trace: HTTP server → send → process → Submit (client, then carrier) → report send', () => {
    const record = reportsFor(canary!.recordId)[0]!;
    // Start from what a reports consumer sees: the record's traceparent header.
    const [, traceId, reportSpanId] =
      /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(record.headers.traceparent ?? '') ?? [];
    assert.ok(
      traceId && reportSpanId,
      `a traceparent header on the reports record (${JSON.stringify(record.headers)})`,
    );
    const trace = spans.filter((s) => s.traceId === traceId);

    const reportSend = byId(reportSpanId);
    assert.ok(reportSend, 'the header names the worker’s report send span');
    assert.equal(reportSend.service, 'anshim-worker');
    assert.equal(reportSend.kind, 'PRODUCER');
    assert.equal(reportSend.name, `send ${TOPICS.reports}`);
    hasAttributes(reportSend, {
      'messaging.system': 'kafka',
      'messaging.destination.name': TOPICS.reports,
      'messaging.operation.type': 'send',
      'anshim.campaign.id': spec.id,
      'messaging.batch.message_count': record.reports.length,
    });

    const carrierSpan = byId(reportSend.parentSpanId);
    assert.ok(carrierSpan, 'the report send span is the child of the carrier’s span');
    assert.equal(carrierSpan.service, 'anshim-simulator');
    assert.equal(carrierSpan.kind, 'SERVER');
    assert.equal(carrierSpan.name, SUBMIT);
    hasAttributes(carrierSpan, { 'rpc.system': 'grpc', 'rpc.method': 'Submit', 'anshim.carrier.message_count': 1 });
    assert.ok(CARRIERS.includes(carrierSpan.attributes['anshim.carrier'] as CarrierId));
    const report = record.reports.find((r) => r.report?.messageId === canary!.recordId)!;
    assert.equal(report.report?.traceParent, `00-${traceId}-${carrierSpan.spanId}-01`, 'the report names it too');

    const submit = byId(carrierSpan.parentSpanId);
    assert.ok(submit, 'the carrier’s span is the child of the worker’s Submit (via CarrierMessage.trace_parent)');
    assert.equal(submit.service, 'anshim-worker');
    assert.equal(submit.kind, 'CLIENT');
    assert.equal(submit.name, SUBMIT);
    hasAttributes(submit, {
      'rpc.system': 'grpc',
      'rpc.method': 'Submit',
      'anshim.carrier': carrierSpan.attributes['anshim.carrier'],
      'anshim.carrier.message_count': 1,
      'server.address': '127.0.0.1',
    });

    const processSpan = byId(submit.parentSpanId);
    assert.ok(processSpan, 'the Submit is the child of the worker’s process span');
    assert.equal(processSpan.kind, 'CONSUMER');
    assert.equal(processSpan.name, `process ${topic}`);
    hasAttributes(processSpan, {
      'messaging.system': 'kafka',
      'messaging.destination.name': topic,
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': workerGroupId(spec.id),
      'messaging.batch.message_count': 1,
      'anshim.campaign.id': spec.id,
    });
    assert.deepEqual(processSpan.links, [], 'one producer span: parented, not linked');

    const gatewaySend = byId(processSpan.parentSpanId);
    assert.ok(gatewaySend, 'the process span is the child of the gateway’s send span (traceparent header)');
    assert.equal(gatewaySend.service, 'anshim-gateway');
    assert.equal(gatewaySend.kind, 'PRODUCER');
    assert.equal(gatewaySend.name, `send ${topic}`);
    hasAttributes(gatewaySend, {
      'messaging.system': 'kafka',
      'messaging.destination.name': topic,
      'messaging.operation.type': 'send',
      'anshim.campaign.id': spec.id,
    });

    const request = byId(gatewaySend.parentSpanId);
    assert.ok(request, 'the send span is the child of the request’s server span');
    assert.equal(request.kind, 'SERVER');
    assert.equal(request.name, 'POST /v1/campaigns/:campaignId/messages');
    hasAttributes(request, {
      'http.request.method': 'POST',
      'http.route': '/v1/campaigns/:campaignId/messages',
      'http.response.status_code': 202,
      'anshim.campaign.id': spec.id,
    });
    assert.equal(request.parentSpanId, undefined, 'the trace starts at the gateway');

    assert.deepEqual(
      new Set(trace.map((s) => s.service)),
      new Set(['anshim-gateway', 'anshim-worker', 'anshim-simulator']),
    );
    assert.ok(trace.every((s) => s.status.code !== 'ERROR'));
  });

  test('a batch holding two requests’ records starts its own trace, linked to both send spans, and carries it on', () => {
    const sends = spans.filter(
      (s) => s.service === 'anshim-gateway' && s.kind === 'PRODUCER' && byId(s.parentSpanId)?.kind === 'SERVER',
    );
    assert.equal(sends.length, 3, 'a send span per message');
    const pairSends = sends.filter((s) => !spans.some((p) => p.parentSpanId === s.spanId && p.kind === 'CONSUMER'));
    assert.equal(pairSends.length, 2);
    const processSpan = spans.find((s) => s.kind === 'CONSUMER' && s.links.length === 2);
    assert.ok(processSpan, 'a process span linking both');
    assert.deepEqual(processSpan.links.map((l) => l.spanId).sort(), pairSends.map((s) => s.spanId).sort());
    assert.equal(processSpan.parentSpanId, undefined);
    assert.ok(pairSends.every((s) => s.traceId !== processSpan.traceId));
    assert.equal(processSpan.attributes['messaging.batch.message_count'], 2);

    const submits = childrenOf(processSpan, 'CLIENT');
    assert.equal(
      submits.reduce((n, s) => n + Number(s.attributes['anshim.carrier.message_count']), 0),
      2,
    );
    const carrierSpans = submits.flatMap((s) => childrenOf(s, 'SERVER'));
    assert.equal(carrierSpans.length, submits.length, 'each Submit reached its carrier in the same trace');
    // The pair's report records continue the new trace: parented by, or linked to, its carrier spans.
    const ids = new Set(carrierSpans.map((s) => s.spanId));
    const reportSends = spans.filter(
      (s) =>
        s.name === `send ${TOPICS.reports}` &&
        (ids.has(s.parentSpanId ?? '') || s.links.some((l) => ids.has(l.spanId))),
    );
    assert.ok(reportSends.length > 0, 'a report send span continues the pair’s trace');
    const headers = pair.flatMap((m) => reportsFor(m.recordId).map((r) => r.headers.traceparent));
    assert.ok(
      headers.every((h) => reportSends.some((s) => h === `00-${s.traceId}-${s.spanId}-01`)),
      'and their records carry it',
    );
  });

  test('canary: the span files hold no number or name, in any spelling, and no request URL or body', () => {
    const text = Object.values(files)
      .map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : ''))
      .join('');
    assert.ok(spans.length >= 14 && text.includes(spec.id), 'the scan read real spans');
    const needles = [
      CANARY.national,
      CANARY.phone,
      CANARY.e164,
      CANARY.name,
      '1099990417',
      ...OTHERS.flatMap((o) => [o.phone, o.phone.replace(/-/g, ''), o.name]),
    ];
    for (const n of needles) assert.equal(text.includes(n), false, `a span file contains ${n}`);
    assert.deepEqual(
      scanFiles(
        tmp,
        needles.map((n) => Buffer.from(n)),
      ).filter((f) => f.endsWith('.jsonl')),
      [],
    );
    assert.doesNotMatch(text, /redacted/, 'nothing needed redacting: no personal data reached an attribute');
    assert.doesNotMatch(text, /\/v1\/campaigns\/trace-/, 'no URL with its values, only the route template');
  });
});
