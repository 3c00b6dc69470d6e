// The gateway's limits, injected (no network) except the idle timeout, which needs a socket.
// Windows are set far longer than any test run, so a slow machine never sees a window roll over.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import { StaticCampaignLookup } from './campaigns.ts';
import type { IngestLimits } from './limits.ts';
import { createGatewayServer } from './server.ts';
import { buildCsv, CapturingProducer, memoryKeys, silentLogger, StaticAccessControl } from './test-fixtures.ts';

const HOUR = 3_600_000;

/** Waits for a condition by event-loop turns, however long the machine takes. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await turn();
}
const OTP = 'system:serviceaccount:bank:otp';
const ALERTS = 'system:serviceaccount:bank:alerts';

async function server(limits: Partial<IngestLimits>) {
  const keys = memoryKeys();
  for (const id of ['bank.otp', 'bank.alarm', 'bank.list']) await keys.ensure(id);
  const transactional = { purpose: 'transactional', priorityClass: 'transactional', phase: 'Sending' } as const;
  const campaigns = new StaticCampaignLookup([
    ['bank.otp', { ...transactional, topic: 't.otp', messagesPerSecond: 1 }],
    ['bank.alarm', { ...transactional, topic: 't.alarm' }],
    ['bank.list', { ...transactional, topic: 't.list' }],
  ]);
  const grants = ['create messagingcampaigns/messages bank/*', 'create messagingcampaigns/uploads bank/*'];
  const access = new StaticAccessControl(
    { otp: { username: OTP, groups: [] }, alerts: { username: ALERTS, groups: [] } },
    { [OTP]: grants, [ALERTS]: grants },
  );
  const producer = new CapturingProducer();
  const app = createGatewayServer(
    { keys, campaigns, producer, logger: silentLogger(), access },
    { rateWindowMs: HOUR, ...limits },
  );
  await app.ready();
  const message = (token: string, campaign = 'bank.alarm') =>
    app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign}/messages`,
      headers: { authorization: `Bearer ${token}` },
      payload: { purpose: 'transactional', recipient: { phone: '010-1234-5678', vars: { code: '1' } } },
    });
  return { app, producer, message, access };
}

describe('gateway limits', () => {
  test('a caller over its requests per window gets 429 with Retry-After and RateLimit-*; another caller does not', async () => {
    const { app, producer, message } = await server({ callerRequestsPerWindow: 3 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await message('otp'));
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [202, 202, 202, 429],
    );
    const refused = answers[3]!;
    assert.equal(refused.json().error.code, 'rate-limited');
    assert.match(refused.json().error.message, /at most 3 in 3600000 ms \(callerRequestsPerWindow\)/);
    assert.deepEqual([refused.headers['ratelimit-limit'], refused.headers['ratelimit-remaining']], ['3', '0']);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 3600, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(answers[0]!.headers['ratelimit-remaining'], '2', 'headers on admitted requests too');
    assert.equal((await message('alerts')).statusCode, 202, 'counted per caller');
    assert.equal(producer.messages.length, 4);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, '/healthz is not counted');
    await app.close();
  });

  test('single messages per campaign: campaignMessageBurst × spec.rateLimit.messagesPerSecond per second of window', async () => {
    const limited = await server({ rateWindowMs: 3000, campaignMessageBurst: 1, callerRequestsPerWindow: 10_000 });
    // 1 message/s × 1 × 3 s = 3 per window; a second caller shares the campaign's count.
    const statuses: number[] = [];
    let refusal: { code: string; message: string } | undefined;
    // Within one window: stop at the first refusal and check how many came before it, whatever
    // the clock did (a window that rolled over mid-way only lets more through, never fewer).
    for (let i = 0; i < 5000 && !refusal; i++) {
      const a = await limited.message(i % 2 ? 'alerts' : 'otp', 'bank.otp');
      statuses.push(a.statusCode);
      if (a.statusCode === 429) refusal = a.json().error;
    }
    assert.ok(refusal, 'a refusal came');
    assert.ok(statuses.length - 1 >= 3, `at least the window's 3 admitted first: ${statuses.length - 1}`);
    assert.match(refusal.message, /at most 3 single messages in 3000 ms \(1 × its spec.rateLimit.messagesPerSecond\)/);
    assert.equal((await limited.message('otp', 'bank.alarm')).statusCode, 202, 'other campaigns are not counted');
    await limited.app.close();
  });

  test('an address presenting bad tokens is answered 429 before the API server is asked again', async () => {
    const { app, access } = await server({ failedAuthenticationsPerWindow: 2 });
    const statuses = [];
    for (const token of ['forged-1', 'forged-2', 'forged-3']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/campaigns/bank.alarm/messages',
        headers: { authorization: `Bearer ${token}` },
        payload: { purpose: 'transactional', recipient: { phone: '010-1234-5678' } },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        assert.equal(res.json().error.code, 'rate-limited');
        assert.match(res.json().error.message, /invalid credentials from this address: at most 2/);
        assert.ok(Number(res.headers['retry-after']) > 0);
      }
    }
    assert.deepEqual(statuses, [401, 401, 429]);
    assert.deepEqual(access.reviewed, ['forged-1', 'forged-2'], 'the third token was never reviewed');
    await app.close();
  });

  test('uploads read at once: one more is 429 too-many-uploads until a slot frees', async () => {
    const { app } = await server({ maxConcurrentUploads: 1 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const csv = buildCsv([
      ['이름', '휴대폰'],
      ['김철수', '010-1234-5678'],
    ]);
    const path = '/v1/campaigns/bank.list/uploads?purpose=transactional';
    const headers = { authorization: 'Bearer otp', 'content-type': 'text/csv' };
    const post = (body: Buffer) => fetch(`${base}${path}`, { method: 'POST', headers, body });
    // The first upload sends part of its file and holds its slot while the rest is unsent.
    const first = request(`${base}${path}`, { method: 'POST', headers });
    const firstAnswer = once(first, 'response') as Promise<[IncomingMessage]>;
    first.write(csv.subarray(0, 10));
    await waitUntil(() => app.uploadsReading() === 1);
    const second = await post(csv);
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('retry-after'), '5');
    assert.equal(((await second.json()) as { error: { code: string } }).error.code, 'too-many-uploads');
    first.end(csv.subarray(10));
    const [res] = await firstAnswer;
    res.resume();
    assert.equal(res.statusCode, 200);
    await waitUntil(() => app.uploadsReading() === 0);
    assert.equal((await post(csv)).status, 200, 'the slot came back');
    await app.close();
  });

  test('a connection that sends nothing more is closed after idleTimeoutMs', async () => {
    const { app } = await server({ idleTimeoutMs: 300 });
    const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const socket = connect(Number(url.port), '127.0.0.1');
    await once(socket, 'connect');
    // Half a request line, then silence: a slowloris client.
    socket.write('POST /v1/campaigns/bank.list/uploads HTTP/1.1\r\nHost: x\r\n');
    socket.resume();
    await once(socket, 'close');
    assert.ok(socket.destroyed, 'the gateway closed the idle connection');
    await app.close();
  });
});
