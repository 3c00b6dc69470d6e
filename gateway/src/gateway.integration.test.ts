import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import type { Producer } from 'kafkajs';
import { createLogger, open, recordAad, type DataKey } from '@anshim/core';
import { CampaignRecord, RecipientPayload, type RecipientPayload as Payload } from '@anshim/proto';
import {
  requireStack,
  createCampaignTopic,
  kubeConfig,
  kubectl,
  scanFiles,
  serviceAccountToken,
  stackKafka,
  withAdmin,
} from '@anshim/dev-platform';
import { campaignTopic } from '@anshim/api';
// The worker's integration harness (real topics, canary scan); not part of its public exports.
import { StaticCampaignLookup, type CampaignInfo } from './campaigns.ts';
import { KubernetesAccessControl } from './kubernetes-access.ts';
import { createGatewayServer, type GatewayServer } from './server.ts';
import { buildCsv, buildXlsx, memoryKeys, type FixtureCell } from './test-fixtures.ts';

const RUN = Date.now().toString(36);
/** The sending system's ServiceAccount token (TokenRequest), set before the tests; every request carries it. */
let token = '';
const CANARY = { national: '01099990417', spelled: '010-9999-0417', name: '카나리아' };
const HEADER = ['이름', '휴대폰번호', '광고수신동의', '야간수신동의', '동의일자', '매장'];
const NAMES = ['김민준', '이서연', '박지호', '최수아', '정예준', '강하은'];
const person = (i: number) => ({
  national: `0103${String(1_000_000 + i).padStart(7, '0')}`,
  name: `${NAMES[i % NAMES.length]}${i % 7}`,
});
const csvRow = (i: number): string[] => {
  const p = person(i);
  return [
    p.name,
    `${p.national.slice(0, 3)}-${p.national.slice(3, 7)}-${p.national.slice(7)}`,
    'Y',
    i % 2 ? 'Y' : 'N',
    '2025-03-01',
    `매장${i % 3}`,
  ];
};
const canaryRow = [CANARY.name, CANARY.spelled, '동의', '동의', '2025-03-01', '카나리아점'];

interface Answer {
  status: number;
  json: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** POSTs `body` over a real socket in 16 KiB writes (chunked unless a length is declared); tolerates the server closing early. */
function post(
  url: string,
  body: Buffer,
  headers: Record<string, string | number> = {},
  opts: { stopAfter?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers } },
      async (res) => {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        answered = true;
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
        } catch {
          reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
        }
        req.destroy();
      },
    );
    req.on('error', (err) => {
      if (!answered) setTimeout(() => !answered && reject(err), 2000);
    });
    void (async () => {
      const end = Math.min(body.length, opts.stopAfter ?? body.length);
      for (let at = 0; at < end && !req.destroyed; at += 16 * 1024) {
        if (!req.write(body.subarray(at, Math.min(end, at + 16 * 1024))))
          await once(req, 'drain').catch(() => undefined);
      }
      if (opts.stopAfter === undefined && !req.destroyed) req.end();
    })();
  });
}

async function topicCount(topic: string): Promise<number> {
  const kafka = stackKafka('gateway-it-offsets');
  return withAdmin(kafka, async (admin) =>
    (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
  );
}

/** Every record of a topic, opened with the campaign key. */
async function readOpened(
  topic: string,
  campaignId: string,
  key: DataKey,
): Promise<Array<{ id: string; payload: Payload }>> {
  const total = await topicCount(topic);
  const consumer = stackKafka('gateway-it-reader').consumer({ groupId: `gateway-it-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const found: Array<{ id: string; payload: Payload }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const record = CampaignRecord.decode(message.value as Buffer);
      assert.equal(message.headers?.['anshim-campaign']?.toString(), campaignId);
      assert.equal(message.key?.toString(), record.recordId);
      const payload = RecipientPayload.decode(
        open(key, record.sealedRecipient, recordAad(campaignId, record.recordId)),
      );
      found.push({ id: record.recordId, payload });
    },
  });
  const deadline = Date.now() + 30_000;
  while (found.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  assert.equal(found.length, total);
  return found;
}

describe('gateway against the real Kafka, over 127.0.0.1', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anshim-gateway-it-'));
  const logFile = join(tmp, 'gateway.log');
  const spillDir = join(tmp, 'spill');
  mkdirSync(spillDir);
  const kafka = stackKafka('gateway-it');
  const keys = memoryKeys();
  const campaigns = new StaticCampaignLookup();
  let producer: Producer;
  let app: GatewayServer;
  let small: GatewayServer;
  let base = '';
  let smallBase = '';

  async function campaign(name: string, info: Partial<CampaignInfo> = {}): Promise<{ id: string; topic: string }> {
    const id = `it-${RUN}.${name}`;
    const full: CampaignInfo = {
      purpose: 'advertising',
      priorityClass: 'bulk',
      phase: 'Sending',
      topic: campaignTopic(id, info.priorityClass ?? 'bulk'),
      channel: 'TEXT',
      ...info,
    };
    await createCampaignTopic(kafka, full.topic, 3);
    await keys.ensure(id);
    campaigns.set(id, full);
    return { id, topic: full.topic };
  }

  before(async () => {
    producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // A real caller: a ServiceAccount in the campaigns' namespace, bound to the sender role.
    kubectl(['create', 'namespace', `it-${RUN}`]);
    const kc = kubeConfig();
    token = await serviceAccountToken(kc, `it-${RUN}`, 'sender', { role: 'anshim-sender' });
    const deps = {
      keys,
      campaigns,
      producer,
      logger: createLogger('gateway', { destination: logFile }),
      spillDir,
      access: new KubernetesAccessControl(kc),
    };
    app = createGatewayServer(deps);
    small = createGatewayServer(deps, { maxUploadBytes: 64 * 1024, batchRecords: 100 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    smallBase = await small.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app?.close();
    await small?.close();
    await producer?.disconnect();
    rmSync(tmp, { recursive: true, force: true });
  });

  test(
    'csv (UTF-8 and CP949) and xlsx round-trip sealed through Kafka; a re-upload adds no new record ids',
    { timeout: 120_000 },
    async () => {
      const { id, topic } = await campaign('promo');
      const url = `${base}/v1/campaigns/${id}/uploads?purpose=advertising`;
      const utf8 = buildCsv([HEADER, ...Array.from({ length: 200 }, (_, i) => csvRow(i)), canaryRow], 'utf-8-bom');
      const cp949 = buildCsv([HEADER, ...Array.from({ length: 200 }, (_, i) => csvRow(100 + i))], 'cp949');
      const xlsxRows: FixtureCell[][] = [HEADER, ...Array.from({ length: 300 }, (_, i) => csvRow(i)), canaryRow];
      const xlsx = await buildXlsx([{ name: '고객명단', rows: xlsxRows }]);

      const first = await post(url, utf8, { 'content-type': 'text/csv' });
      assert.equal(first.status, 200, JSON.stringify(first.json));
      assert.deepEqual([first.json.encoding, first.json.counts.accepted, first.json.produced], ['utf-8', 201, 201]);
      const second = await post(url, cp949, { 'content-type': 'text/csv', 'content-length': cp949.length });
      assert.equal(second.status, 200, JSON.stringify(second.json));
      assert.deepEqual([second.json.encoding, second.json.counts.accepted], ['cp949', 200]);
      const third = await post(url, xlsx, {
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      });
      assert.equal(third.status, 200, JSON.stringify(third.json));
      assert.deepEqual([third.json.format, third.json.sheet, third.json.counts.accepted], ['xlsx', '고객명단', 301]);

      const [key] = await keys.open(id);
      const records = await readOpened(topic, id, key as DataKey);
      assert.equal(records.length, 201 + 200 + 301, 'every accepted row was produced');
      const byId = new Map<string, Payload>();
      for (const r of records) {
        const earlier = byId.get(r.id);
        if (earlier) assert.equal(earlier.phone, r.payload.phone, 'one id, one number');
        byId.set(r.id, r.payload);
      }
      assert.equal(byId.size, 301, 'the CP949 overlap and the xlsx re-upload produced no new ids');
      const expected = new Map(
        [...Array.from({ length: 300 }, (_, i) => person(i)), { national: CANARY.national, name: CANARY.name }].map(
          (p) => [p.national, p.name],
        ),
      );
      for (const payload of byId.values()) {
        assert.equal(
          payload.name,
          expected.get(payload.phone),
          `name of ${payload.phone.slice(-4)} survives its encoding`,
        );
        assert.equal(payload.consent?.advertising, true);
        assert.equal(payload.consent?.consentedAtMs, Date.UTC(2025, 1, 28, 15));
        assert.match(payload.vars['매장'] ?? '', /^(매장[012]|카나리아점)$/);
      }
    },
  );

  test('the message API seals one transactional message onto its topic', { timeout: 60_000 }, async () => {
    const { id, topic } = await campaign('otp', { purpose: 'transactional', priorityClass: 'transactional' });
    const body = Buffer.from(
      JSON.stringify({
        purpose: 'transactional',
        requestId: 'login-1',
        recipient: { phone: CANARY.spelled, name: CANARY.name, vars: { code: '246810' } },
      }),
    );
    const res = await post(`${base}/v1/campaigns/${id}/messages`, body, { 'content-type': 'application/json' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.to, '010-****-0417');
    const [key] = await keys.open(id);
    const [record] = await readOpened(topic, id, key as DataKey);
    assert.equal(record?.id, res.json.recordId);
    assert.deepEqual([record?.payload.phone, record?.payload.vars.code], [CANARY.national, '246810']);
  });

  test(
    'bad input answers a clear typed error, and exactly what it says was produced is on the topic',
    { timeout: 120_000 },
    async () => {
      const { id, topic } = await campaign('bad');
      const url = (sheet = '') => `${base}/v1/campaigns/${id}/uploads?purpose=advertising${sheet}`;
      const csv = (n: number, start = 0) =>
        buildCsv([HEADER, ...Array.from({ length: n }, (_, i) => csvRow(start + i))]);
      let produced = 0;

      const unknown = await post(`${base}/v1/campaigns/it-${RUN}.nope/uploads?purpose=advertising`, csv(3), {
        'content-type': 'text/csv',
      });
      assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'unknown-campaign']);
      const mismatch = await post(`${base}/v1/campaigns/${id}/uploads?purpose=informational`, csv(3), {
        'content-type': 'text/csv',
      });
      assert.deepEqual([mismatch.status, mismatch.json.error.code], [403, 'purpose-mismatch']);
      assert.match(mismatch.json.error.message, /purpose binding/);

      // 2 GB declared: refused by Content-Length before the body is read (only a few bytes are ever sent).
      const declared = await post(
        url(),
        csv(3),
        { 'content-type': 'text/csv', 'content-length': 2 * 1024 ** 3 },
        { stopAfter: 100 },
      );
      assert.deepEqual([declared.status, declared.json.error.code], [413, 'upload-too-large']);

      // No length declared (chunked): refused by counting streamed bytes; rows sealed before that are produced and said so.
      const counted = await post(`${smallBase}/v1/campaigns/${id}/uploads?purpose=advertising`, csv(6000, 1000), {
        'content-type': 'text/csv',
      });
      assert.deepEqual([counted.status, counted.json.error.code], [413, 'upload-too-large']);
      assert.equal(
        counted.json.progress.notProduced,
        counted.json.progress.counts.accepted - counted.json.progress.produced,
      );
      produced += counted.json.progress.produced;

      const unclosed = Buffer.concat([csv(50, 8000), Buffer.from('"김철수,010-5555-0000\r\n')]);
      const malformed = await post(url(), unclosed, { 'content-type': 'text/csv' });
      assert.deepEqual([malformed.status, malformed.json.error.code], [422, 'malformed-csv']);
      // The 50 good rows before the break were read and accepted; whatever was not acknowledged is said to be missing.
      assert.equal(malformed.json.progress.counts.accepted, 50);
      assert.equal(malformed.json.progress.produced + malformed.json.progress.notProduced, 50);
      produced += malformed.json.progress.produced;

      const xlsx = await buildXlsx([
        { name: 'S', rows: [HEADER, ...Array.from({ length: 40 }, (_, i) => csvRow(9000 + i))] },
      ]);
      const truncated = await post(url(), xlsx.subarray(0, xlsx.length - 200), {
        'content-type': 'application/octet-stream',
      });
      assert.deepEqual(
        [truncated.status, truncated.json.error.code, truncated.json.progress.produced],
        [422, 'malformed-xlsx', 0],
      );
      const wrongSheet = await post(url('&sheet=Sheet9'), xlsx, { 'content-type': 'application/octet-stream' });
      assert.deepEqual([wrongSheet.status, wrongSheet.json.error.code], [422, 'sheet-not-found']);
      const bomb = await buildXlsx([{ name: 'S', rows: [HEADER] }], {
        extraParts: [{ name: 'xl/media/x.bin', data: Buffer.alloc(16 * 1024 * 1024) }],
      });
      const bombed = await post(url(), bomb, { 'content-type': 'application/octet-stream' });
      assert.deepEqual([bombed.status, bombed.json.error.code, bombed.json.progress.produced], [422, 'zip-bomb', 0]);
      const formula = await buildXlsx([
        {
          name: 'S',
          rows: [HEADER, [CANARY.name, { formula: 'HYPERLINK("x")', cached: CANARY.national }, 'Y', 'N', '', '']],
        },
      ]);
      const formulaAnswer = await post(url(), formula, { 'content-type': 'application/octet-stream' });
      assert.deepEqual([formulaAnswer.status, formulaAnswer.json.counts.rejectedByReason], [200, { formula: 1 }]);

      assert.equal(await topicCount(topic), produced, 'the topic holds exactly what the answers said was produced');
    },
  );

  test('callers as the API server knows them: no token, a bad one, another namespace, no verb: refused; the right one sends', async () => {
    const { id, topic } = await campaign('access');
    const kc = kubeConfig();
    kubectl(['create', 'namespace', `it-${RUN}-other`]);
    const other = await serviceAccountToken(kc, `it-${RUN}-other`, 'sender', { role: 'anshim-sender' });
    const roleless = await serviceAccountToken(kc, `it-${RUN}`, 'reader');
    const optOuts = await serviceAccountToken(kc, `it-${RUN}`, 'optouts', {
      role: 'anshim-optout-recorder',
      clusterWide: true,
    });
    const csv = buildCsv([HEADER, csvRow(30_000)]);
    const as = (t: string | undefined, campaignId = id) =>
      post(`${base}/v1/campaigns/${campaignId}/uploads?purpose=advertising`, csv, {
        'content-type': 'text/csv',
        authorization: t === undefined ? '' : `Bearer ${t}`,
      });
    const answers = {
      'no token': await as(undefined),
      'a bad token': await as(`${token.slice(0, -8)}AAAAAAAA`),
      'another namespace': await as(other),
      'another namespace, unknown campaign': await as(other, `it-${RUN}.nosuch`),
      'no verb': await as(roleless),
      'the 080 provider': await as(optOuts),
      'the sender': await as(token),
    };
    for (const [what, a] of Object.entries(answers))
      console.log(
        `${what.padEnd(36)} ${a.status} ${JSON.stringify(a.json.error ?? { accepted: a.json.counts?.accepted })}`,
      );
    assert.deepEqual(
      Object.values(answers).map((a) => [a.status, a.json.error?.code]),
      [
        [401, 'unauthenticated'],
        [401, 'unauthenticated'],
        [403, 'forbidden'],
        [403, 'forbidden'],
        [403, 'forbidden'],
        [403, 'forbidden'],
        [200, undefined],
      ],
    );
    assert.deepEqual(
      answers['another namespace, unknown campaign'].json,
      answers['another namespace'].json,
      'an unknown campaign and a forbidden one answer alike',
    );
    assert.match(
      answers['no verb'].json.error.message,
      new RegExp(`system:serviceaccount:it-${RUN}:reader may not create messagingcampaigns/uploads`),
    );
    assert.equal(await topicCount(topic), 1, 'only the sender’s upload reached Kafka');
  });

  test('the CLI streams a file to the gateway and prints its answer', { timeout: 60_000 }, async () => {
    const { id, topic } = await campaign('cli');
    const file = join(tmp, 'recipients.csv');
    writeFileSync(
      file,
      buildCsv([HEADER, ...Array.from({ length: 30 }, (_, i) => csvRow(20_000 + i)), csvRow(20_000)], 'cp949'),
    );
    const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
    // Asynchronously: the server answering it runs in this process.
    const runCli = (args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', cli, ...args],
          { encoding: 'utf8', env: { ...process.env, ANSHIM_TOKEN: token } },
          (err, stdout, stderr) =>
            resolve({ status: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr }),
        ),
      );
    const run = await runCli([
      'upload',
      file,
      '--campaign',
      id,
      '--purpose',
      'advertising',
      '--server',
      base,
      '--json',
    ]);
    assert.equal(run.status, 0, run.stderr);
    const answer = JSON.parse(run.stdout);
    assert.deepEqual([answer.counts.accepted, answer.counts.duplicates, answer.encoding], [30, 1, 'cp949']);
    assert.equal(await topicCount(topic), 30);
    const refused = await runCli(['upload', file, '--campaign', id, '--purpose', 'transactional', '--server', base]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refused \(403 purpose-mismatch\)/);
  });

  test('canary scan: no plaintext number or name in Kafka data, the gateway log or any temp file', async () => {
    const needles = [CANARY.national, CANARY.spelled, CANARY.name, '9999-0417', person(7).national].flatMap((s) => [
      Buffer.from(s, 'utf8'),
      iconv.encode(s, 'cp949'),
    ]);
    const tempEntries = readdirSync(tmpdir())
      .filter((e) => e.startsWith('anshim-gateway-') && join(tmpdir(), e) !== tmp)
      .map((e) => join(tmpdir(), e));
    const hits = [
      ...scanFiles(requireStack().kafka.dataDir, needles),
      ...scanFiles(spillDir, needles),
      ...(readFileSync(logFile).length ? scanFiles(dirname(logFile), needles).filter((p) => p === logFile) : []),
      ...tempEntries.flatMap((d) => scanFiles(d, needles)),
    ];
    assert.deepEqual(hits, []);
    assert.deepEqual(readdirSync(spillDir), [], 'spill files leave nothing behind');
    // The scan looks in the right places: the log has our lines, and Kafka's files hold the sealed records.
    assert.match(readFileSync(logFile, 'utf8'), /upload ingested/);
    const anId = Buffer.from(
      (
        await readOpened(
          campaignTopic(`it-${RUN}.otp`, 'transactional'),
          `it-${RUN}.otp`,
          (await keys.open(`it-${RUN}.otp`))[0] as DataKey,
        )
      )[0]?.id ?? 'x',
    );
    assert.ok(scanFiles(requireStack().kafka.dataDir, [anId]).length > 0);
  });
});
