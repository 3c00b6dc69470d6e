import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticCampaignLookup } from './campaigns.ts';
import type { IngestLimits } from './limits.ts';
import { createGatewayServer } from './server.ts';
import { buildCsv, CapturingProducer, memoryKeys, silentLogger } from './test-fixtures.ts';

async function server(limits: Partial<IngestLimits> = { maxUploadBytes: 10_000 }) {
  const keys = memoryKeys();
  await keys.ensure('shop.weekend');
  await keys.ensure('bank.otp');
  const producer = new CapturingProducer();
  const campaigns = new StaticCampaignLookup([
    ['shop.weekend', { purpose: 'advertising', priorityClass: 'bulk', phase: 'Sending', topic: 't.weekend' }],
    ['bank.otp', { purpose: 'transactional', priorityClass: 'transactional', phase: 'Sending', topic: 't.otp' }],
  ]);
  const app = createGatewayServer({ keys, campaigns, producer, logger: silentLogger() }, limits);
  await app.ready();
  return { app, producer };
}

const CSV = buildCsv([
  ['이름', '휴대폰', '광고수신동의'],
  ['김철수', '010-1234-5678', 'Y'],
  ['이영희', '02-123-4567', 'Y'],
]);

type App = Awaited<ReturnType<typeof server>>['app'];

/** POSTs a file to the upload route: `query` after the '?', `headers` added to text/csv. */
const uploadTo = (
  app: App,
  query: string,
  payload: Buffer,
  headers: Record<string, string> = {},
  id = 'shop.weekend',
) =>
  app.inject({
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
    const json = await app.inject({
      method: 'POST',
      url: '/v1/campaigns/shop.weekend/uploads?purpose=advertising',
      payload: { phone: '01012345678' },
    });
    assert.equal(json.statusCode, 415);
    const unknownType = await app.inject({
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
    const big = await app.inject({
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
    const res = await app.inject({
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
    const refused = await app.inject({
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
    const res = await app.inject({
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
});
