import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { StaticCampaignLookup } from './campaigns.ts';
import type { IngestLimits } from './limits.ts';
import { createGatewayServer } from './server.ts';
import {
  buildCsv,
  CapturingProducer,
  memoryKeys,
  senderAccess,
  SENDER,
  SENDER_TOKEN,
  silentLogger,
  StaticAccessControl,
} from './test-fixtures.ts';
import type { OptOutAuditEvent } from './optouts.ts';

const OPT_OUT_KEY = Buffer.alloc(32, 7);

async function server(
  limits: Partial<IngestLimits> = { maxUploadBytes: 10_000 },
  access: StaticAccessControl = senderAccess(),
) {
  const keys = memoryKeys();
  await keys.ensure('shop.weekend');
  await keys.ensure('bank.otp');
  const producer = new CapturingProducer();
  const campaigns = new StaticCampaignLookup([
    ['shop.weekend', { purpose: 'advertising', priorityClass: 'bulk', phase: 'Sending', topic: 't.weekend' }],
    ['bank.otp', { purpose: 'transactional', priorityClass: 'transactional', phase: 'Sending', topic: 't.otp' }],
  ]);
  const optOutAudits: OptOutAuditEvent[] = [];
  const app = createGatewayServer(
    {
      keys,
      campaigns,
      producer,
      logger: silentLogger(),
      optOutKey: OPT_OUT_KEY,
      access,
      auditOptOut: (e) => void optOutAudits.push(e),
    },
    limits,
  );
  await app.ready();
  return { app, producer, optOutAudits };
}

const CSV = buildCsv([
  ['이름', '휴대폰', '광고수신동의'],
  ['김철수', '010-1234-5678', 'Y'],
  ['이영희', '02-123-4567', 'Y'],
]);

type App = Awaited<ReturnType<typeof server>>['app'];

/** A request as the sender's system makes it: with its bearer token. */
const inject = (app: App, opts: InjectOptions) =>
  app.inject({ ...opts, headers: { authorization: `Bearer ${SENDER_TOKEN}`, ...opts.headers } });

/** POSTs a file to the upload route: `query` after the '?', `headers` added to text/csv. */
const uploadTo = (
  app: App,
  query: string,
  payload: Buffer,
  headers: Record<string, string> = {},
  id = 'shop.weekend',
) =>
  inject(app, {
    method: 'POST',
    url: `/v1/campaigns/${id}/uploads${query ? `?${query}` : ''}`,
    headers: { 'content-type': 'text/csv', ...headers },
    payload,
  });

describe('gateway HTTP routes (injected, no network)', () => {
  test('an upload answers counts and a masked rejection report', async () => {
    const { app, producer } = await server();
    const res = await uploadTo(app, 'purpose=advertising', CSV);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual([body.counts.accepted, body.counts.rejected, body.produced], [1, 1, 1]);
    assert.deepEqual(body.rejections, [
      { row: 3, reason: 'landline', column: '휴대폰', phone: '02-***-4567', name: '이*희' },
    ]);
    assert.ok(!res.body.includes('1234-5678') && !res.body.includes('01012345678'), 'no plaintext number');
    assert.equal(producer.messages.length, 1);
    await app.close();
  });

  test('an upload larger than the JSON body limit streams through (only maxUploadBytes applies)', async () => {
    const { app, producer } = await server({ maxUploadBytes: 1024 * 1024 });
    const rows = Array.from({ length: 3000 }, (_, i) => [`김${i}`, `0103${String(1_000_000 + i)}`, 'Y']);
    const big = buildCsv([['이름', '휴대폰', '광고수신동의'], ...rows]);
    assert.ok(big.length > 64 * 1024);
    const res = await uploadTo(app, 'purpose=advertising', big);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().counts.accepted, 3000);
    assert.equal(producer.messages.length, 3000);
    await app.close();
  });

  test('schemas refuse a missing purpose, a bad campaign id and a JSON body on the upload route', async () => {
    const { app } = await server();
    const noPurpose = await uploadTo(app, '', CSV);
    assert.equal(noPurpose.statusCode, 400);
    assert.equal(noPurpose.json().error.code, 'invalid-request');
    const badId = await uploadTo(app, 'purpose=advertising', CSV, {}, 'Shop_Weekend');
    assert.equal(badId.statusCode, 400);
    const json = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/shop.weekend/uploads?purpose=advertising',
      payload: { phone: '01012345678' },
    });
    assert.equal(json.statusCode, 415);
    const unknownType = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/shop.weekend/uploads?purpose=advertising',
      headers: { 'content-type': 'image/png' },
      payload: CSV,
    });
    assert.equal(unknownType.statusCode, 415);
    assert.equal(unknownType.json().error.code, 'unsupported-media-type');
    await app.close();
  });

  test('a declared length over the limit is refused before the body is read; errors carry their code', async () => {
    const { app, producer } = await server();
    const big = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/shop.weekend/uploads?purpose=advertising',
      headers: { 'content-type': 'text/csv', 'content-length': String(2 * 1024 ** 3) },
      payload: CSV.subarray(0, 10),
    });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'upload-too-large');
    const mismatch = await uploadTo(app, 'purpose=informational', CSV);
    assert.equal(mismatch.statusCode, 403);
    assert.equal(mismatch.json().error.code, 'purpose-mismatch');
    assert.equal(mismatch.json().progress.produced, 0);
    assert.equal(producer.messages.length, 0);
    await app.close();
  });

  test('the message API seals one message and answers 202 with a masked number', async () => {
    const { app, producer } = await server();
    const res = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/bank.otp/messages',
      payload: {
        purpose: 'transactional',
        requestId: 'r1',
        recipient: { phone: '01012345678', vars: { code: '987654' } },
      },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(Object.keys(res.json()).sort(), ['recordId', 'to', 'topic']);
    assert.equal(res.json().to, '010-****-5678');
    assert.equal(producer.messages.length, 1);
    const refused = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/bank.otp/messages',
      payload: { purpose: 'transactional', recipient: { phone: '02-123-4567' } },
    });
    assert.equal(refused.statusCode, 422);
    assert.equal(refused.json().error.code, 'invalid-recipient');
    await app.close();
  });

  test('malformed JSON is refused without echoing it (JSON.parse would quote the number)', async () => {
    const { app } = await server();
    const res = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/bank.otp/messages',
      headers: { 'content-type': 'application/json' },
      payload: '{"purpose":"transactional","recipient":{"phone":"010-9999-0417"',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'invalid-json');
    assert.ok(!res.body.includes('0417'), res.body);
    await app.close();
  });

  test("every refusal, ours or Fastify's, has the one error shape and a stable code", async () => {
    const { app, producer } = await server();
    const json = (url: string, payload: unknown, method: 'POST' | 'GET' = 'POST') =>
      inject(app, { method, url, payload: payload as Record<string, unknown> });
    const message = { purpose: 'transactional', recipient: { phone: '01012345678' } };
    const cases: Array<[string, Promise<{ statusCode: number; body: string; json(): unknown }>, number, string]> = [
      ['unknown route', json('/v1/nothing', {}), 404, 'not-found'],
      ['wrong method', json('/v1/campaigns/bank.otp/messages', undefined, 'GET'), 404, 'not-found'],
      ['unknown campaign', json('/v1/campaigns/bank.nosuch/messages', message), 404, 'unknown-campaign'],
      ['schema', json('/v1/campaigns/bank.otp/messages', { purpose: 'transactional' }), 400, 'invalid-request'],
      [
        'body over the JSON limit',
        json('/v1/campaigns/bank.otp/messages', { ...message, requestId: 'x'.repeat(70 * 1024) }),
        413,
        'request-too-large',
      ],
      [
        'media type',
        inject(app, {
          method: 'POST',
          url: '/v1/optouts',
          headers: { 'content-type': 'image/png' },
          payload: Buffer.from('x'),
        }),
        415,
        'unsupported-media-type',
      ],
      [
        'opt-out of no number',
        json('/v1/optouts', { optOutNumber: '080-123-4567', phone: 'not-a-phone' }),
        422,
        'invalid-phone',
      ],
      [
        'opt-out schema',
        json('/v1/optouts', { optOutNumber: '010-1234-5678', phone: '01012345678' }),
        400,
        'invalid-request',
      ],
    ];
    for (const [what, pending, status, code] of cases) {
      const res = await pending;
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      const body = res.json() as { error: { code: string; message: string } };
      assert.deepEqual(Object.keys(body), ['error'], what);
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], what);
      assert.equal(body.error.code, code, what);
      assert.ok(body.error.message.length > 0, what);
      assert.ok(
        !res.body.includes('1234-5678') && !res.body.includes('123-4567'),
        `${what} echoes a number: ${res.body}`,
      );
    }
    assert.equal(producer.messages.length, 0, 'nothing refused reached Kafka');
    await app.close();
  });

  test('an opt-out is recorded as a keyed tag; Kafka down is a 503 that records nothing', async () => {
    const { app, producer } = await server();
    const res = await inject(app, {
      method: 'POST',
      url: '/v1/optouts',
      payload: { optOutNumber: '080-123-4567', phone: '010-1234-5678' },
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { recorded: true, optedOut: true });
    assert.equal(producer.messages.length, 1);
    const [record] = producer.messages;
    assert.equal(record!.topic, 'anshim.optouts');
    assert.ok(!String(record!.key).includes('12345678'), 'the key is a tag, not the number');
    producer.failAfter = producer.sends;
    const down = await inject(app, {
      method: 'POST',
      url: '/v1/optouts',
      payload: { optOutNumber: '080-123-4567', phone: '010-1234-5678', optedOut: false },
    });
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.json().error.code, 'kafka-unavailable');
    assert.equal(producer.messages.length, 1);
    await app.close();
  });

  test('an unexpected failure is a 500 with a fixed text; a refused message keeps its connection', async () => {
    const keys = memoryKeys();
    const campaigns = { get: async () => Promise.reject(new Error('lookup exploded with 010-1234-5678')) };
    const app = createGatewayServer({
      keys,
      campaigns,
      producer: new CapturingProducer(),
      logger: silentLogger(),
      access: senderAccess(),
    });
    const res = await inject(app, {
      method: 'POST',
      url: '/v1/campaigns/bank.otp/messages',
      payload: { purpose: 'transactional', recipient: { phone: '01012345678' } },
    });
    assert.equal(res.statusCode, 500, res.body);
    assert.equal(res.json().error.code, 'internal');
    assert.ok(!res.body.includes('exploded') && !res.body.includes('5678'), res.body);
    await app.close();

    const { app: ok } = await server();
    const refused = await inject(ok, {
      method: 'POST',
      url: '/v1/campaigns/bank.otp/messages',
      payload: { purpose: 'transactional', recipient: { phone: '02-123-4567' } },
    });
    assert.equal(refused.statusCode, 422);
    assert.notEqual(refused.headers.connection, 'close', 'a JSON body was read whole; keep-alive stays');
    const upload = await uploadTo(ok, 'purpose=informational', CSV);
    assert.equal(upload.statusCode, 403);
    assert.equal(upload.headers.connection, 'close', 'an upload refused mid-body closes its connection');
    assert.equal((await inject(ok, { method: 'POST', url: '/v1/optouts', payload: {} })).statusCode, 400);
    await ok.close();
  });
});

describe('gateway access: every route but /healthz knows its caller and asks its grant', () => {
  const BANK = 'system:serviceaccount:bank:otp';
  const PROVIDER = 'system:serviceaccount:optout-provider:line';
  const access = () =>
    new StaticAccessControl(
      {
        [SENDER_TOKEN]: { username: SENDER, groups: [] },
        bank: { username: BANK, groups: [] },
        provider: { username: PROVIDER, groups: [] },
      },
      {
        [SENDER]: ['create messagingcampaigns/uploads shop/*'],
        [BANK]: ['create messagingcampaigns/messages bank/otp'],
        [PROVIDER]: ['create optouts'],
      },
    );
  const as = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const message = (app: App, id: string, token: string | undefined) =>
    app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/messages`,
      headers: as(token),
      payload: { purpose: 'transactional', recipient: { phone: '010-1234-5678', vars: { code: '1' } } },
    });

  test('no token and a bad token are 401 with the Bearer challenge; /healthz needs none', async () => {
    const { app, producer } = await server(undefined, access());
    for (const [what, headers] of [
      ['no token', {}],
      ['a bad token', { authorization: 'Bearer forged' }],
      ['another scheme', { authorization: 'Basic c2VuZGVyOnB3' }],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/campaigns/bank.otp/messages',
        headers,
        payload: { purpose: 'transactional', recipient: { phone: '010-1234-5678' } },
      });
      assert.equal(res.statusCode, 401, what);
      assert.equal(res.json().error.code, 'unauthenticated', what);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="anshim-gateway"', what);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal(producer.messages.length, 0);
    await app.close();
  });

  test('another namespace, a missing verb: 403; an unknown campaign reads like a forbidden one', async () => {
    const control = access();
    const { app, producer } = await server(undefined, control);
    const otherNamespace = await message(app, 'bank.otp', SENDER_TOKEN);
    assert.equal(otherNamespace.statusCode, 403);
    assert.deepEqual(otherNamespace.json().error, {
      code: 'forbidden',
      message: `${SENDER} may not create messagingcampaigns/messages (messaging.anshim.io) in namespace bank`,
    });
    const unknown = await message(app, 'bank.nope', SENDER_TOKEN);
    assert.equal(unknown.body, otherNamespace.body, 'no telling whether bank.nope exists');
    const noVerb = await uploadTo(app, 'purpose=transactional', CSV, as('bank'), 'bank.otp');
    assert.equal(noVerb.statusCode, 403, 'bank may send messages, not upload lists');
    const ok = await message(app, 'bank.otp', 'bank');
    assert.equal(ok.statusCode, 202, ok.body);
    // The grant is asked before the campaign is looked up: with it, an unknown campaign is a 404.
    const grantedUnknown = await uploadTo(app, 'purpose=advertising', CSV, as(SENDER_TOKEN), 'shop.nope');
    assert.equal(grantedUnknown.json().error.code, 'unknown-campaign');
    assert.deepEqual(control.asked.at(-1), {
      verb: 'create',
      resource: 'messagingcampaigns',
      subresource: 'uploads',
      namespace: 'shop',
      name: 'nope',
    });
    assert.equal(producer.messages.length, 1, 'only the authorized message reached Kafka');
    await app.close();
  });

  test('opt-outs: recording one is its own grant, withdrawing one a stricter one; both audited by caller', async () => {
    const { app, producer, optOutAudits } = await server(undefined, access());
    const optOut = (token: string, optedOut: boolean) =>
      app.inject({
        method: 'POST',
        url: '/v1/optouts',
        headers: as(token),
        payload: { optOutNumber: '080-123-4567', phone: '010-1234-5678', optedOut },
      });
    assert.equal((await optOut(SENDER_TOKEN, true)).statusCode, 403, 'a sender may not opt numbers out');
    assert.equal((await optOut('provider', true)).statusCode, 202);
    const resubscribe = await optOut('provider', false);
    assert.equal(resubscribe.statusCode, 403, 'the 080 provider may not opt a number back in');
    assert.match(resubscribe.json().error.message, /may not delete optouts .*cluster-wide/);
    assert.equal(producer.messages.length, 1);
    assert.deepEqual(
      optOutAudits.map((e) => [e.actor, e.optedOut, e.outcome]),
      [[PROVIDER, true, 'completed']],
      'the recorded opt-out is audited with its caller (refusals never reach the route)',
    );
    assert.ok(!JSON.stringify(optOutAudits).includes('1234-5678'), 'never the phone');
    await app.close();
  });
});
