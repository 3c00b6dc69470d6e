import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  carrierAad,
  carrierKeyFromPreShared,
  generateDataKey,
  Keyring,
  open,
  optOutTag,
  sealCampaignRecord,
  SimulatedPortabilityDirectory,
  type CarrierId,
  type DataKey,
} from '@anshim/core';
import { CarrierMessage, Channel, SubmitRequest } from '@anshim/proto';
import type { CampaignSpec } from './campaign.ts';
import { expiresAt, HeldUntil, prepareMessage, PrepareError, type PrepareContext } from './prepare.ts';
import { encodeSubmitRequest } from './carrier-link.ts';
import { renderTemplate, TemplateVariableError } from './render.ts';
import { backoffDelay } from './backoff.ts';

const campaign: CampaignSpec = {
  id: 'promo-1',
  channel: 'TEXT',
  fallback: [],
  template: '#{name}님, #{store} 주말 특가 안내',
  senderNumber: '15880000',
  processors: ['skt', 'kt', 'lguplus', 'kakao'],
  ttlMs: 3_600_000,
};

function setup(spec = campaign) {
  const dataKey = generateDataKey('promo-1');
  const carrierKeys: Partial<Record<CarrierId, DataKey>> = {};
  for (const c of ['skt', 'kt', 'lguplus', 'kakao'] as const)
    carrierKeys[c] = carrierKeyFromPreShared(c, Buffer.alloc(32, c.length));
  const ctx: PrepareContext = {
    campaign: spec,
    campaignKeys: new Keyring([dataKey]),
    carrierKeys,
    portability: new SimulatedPortabilityDirectory(),
    now: Date.now(),
  };
  return { dataKey, carrierKeys, ctx };
}

test('prepare opens, renders, routes by portability and re-seals for the carrier', () => {
  const { dataKey, carrierKeys, ctx } = setup();
  const value = sealCampaignRecord(dataKey, 'promo-1', 'r1', {
    phone: '010-1234-5678',
    name: '김민지',
    vars: { store: '강남점' },
  });
  const prepared = prepareMessage(value, ctx);
  assert.equal(prepared.carrier, new SimulatedPortabilityDirectory().operatorOf('01012345678'));
  assert.equal(prepared.channel, Channel.SMS);
  const msg = CarrierMessage.decode(prepared.frame);
  const key = carrierKeys[prepared.carrier]!;
  assert.equal(msg.keyId, key.id);
  assert.equal(open(key, msg.sealedRecipient, carrierAad('promo-1', 'r1', 'recipient')).toString(), '01012345678');
  assert.equal(
    open(key, msg.sealedBody, carrierAad('promo-1', 'r1', 'body')).toString(),
    '김민지님, 강남점 주말 특가 안내',
  );
  // No plaintext number or name anywhere in the carrier frame.
  const raw = Buffer.from(prepared.frame).toString('latin1');
  assert.ok(!raw.includes('01012345678') && !Buffer.from(prepared.frame).includes(Buffer.from('김민지')));
  assert.equal(msg.idempotencyKey, 'promo-1:r1');
});

test('long text goes as LMS; AlimTalk goes to kakao with its template code; fallback step picks the next channel', () => {
  const long = { ...campaign, template: '#{name}님 '.padEnd(60, '가') };
  const { dataKey, ctx } = setup(long);
  const value = sealCampaignRecord(dataKey, 'promo-1', 'r2', { phone: '01098765432', name: '이준', vars: {} });
  assert.equal(prepareMessage(value, ctx).channel, Channel.LMS);

  const alim = {
    ...campaign,
    channel: 'ALIMTALK' as const,
    fallback: ['TEXT' as const],
    templateCode: 'ORDER_SHIPPED',
  };
  const s2 = setup(alim);
  const v2 = sealCampaignRecord(s2.dataKey, 'promo-1', 'r3', {
    phone: '01098765432',
    name: '이준',
    vars: { store: 'x' },
  });
  const first = prepareMessage(v2, s2.ctx, 0);
  assert.equal(first.carrier, 'kakao');
  assert.equal(CarrierMessage.decode(first.frame).templateCode, 'ORDER_SHIPPED');
  const fallback = prepareMessage(v2, s2.ctx, 1);
  assert.equal(fallback.channel, Channel.SMS);
  assert.notEqual(fallback.carrier, 'kakao');
  assert.equal(fallback.idempotencyKey, 'promo-1:r3#fallback1');
});

test('bad records fail with a typed reason and no personal data in the message', () => {
  const { dataKey, ctx } = setup();
  const reasons = (value: Uint8Array) => {
    try {
      prepareMessage(value, ctx);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof PrepareError);
      assert.ok(!/01055512345|박서준/.test(err.message), err.message);
      return err.reason;
    }
  };
  assert.equal(reasons(Buffer.from('not protobuf at all \xff\xff')), 'malformed-record');
  assert.equal(
    reasons(
      sealCampaignRecord(dataKey, 'promo-1', 'x', { phone: '02-123-4567', name: '박서준', vars: { store: 'a' } }),
    ),
    'invalid-phone',
  );
  assert.equal(
    reasons(sealCampaignRecord(dataKey, 'promo-1', 'x', { phone: '01055512345', name: '박서준', vars: {} })),
    'template-variable-missing',
  );
  assert.equal(
    reasons(
      sealCampaignRecord(generateDataKey('other'), 'promo-1', 'x', {
        phone: '01055512345',
        name: '박서준',
        vars: { store: 'a' },
      }),
    ),
    'unknown-key',
  );
  const onlyKakao = setup({ ...campaign, processors: ['kakao'] });
  assert.throws(
    () =>
      prepareMessage(
        sealCampaignRecord(onlyKakao.dataKey, 'promo-1', 'x', {
          phone: '01055512345',
          name: 'a',
          vars: { store: 'a' },
        }),
        onlyKakao.ctx,
      ),
    (err: PrepareError) => err.reason === 'processor-not-allowed',
  );
  dataKey.destroy();
  assert.equal(
    reasons(
      sealCampaignRecord(generateDataKey('promo-1'), 'promo-1', 'x', { phone: '01055512345', name: 'a', vars: {} }),
    ),
    'unknown-key',
  );
});

test('a SubmitRequest framed from encoded messages decodes to the same messages', () => {
  const frames = [1, 2, 300].map((n) =>
    CarrierMessage.encode({ id: `m${n}`, campaignId: 'c', sealedBody: Buffer.alloc(n * 10, 7) }).finish(),
  );
  const decoded = SubmitRequest.decode(encodeSubmitRequest(frames));
  assert.deepEqual(
    decoded.messages.map((m) => m.id),
    ['m1', 'm2', 'm300'],
  );
  assert.equal(decoded.messages[2]?.sealedBody?.length, 3000);
});

test('templates render #{var} and refuse a missing variable', () => {
  assert.equal(renderTemplate('#{이름}님 #{code}', '홍길동', { code: '1234' }), '홍길동님 1234');
  assert.throws(() => renderTemplate('#{code}', 'x', {}), TemplateVariableError);
});

test('backoff grows exponentially, is capped, jittered, and honours the carrier hint', () => {
  const policy = { baseMs: 100, maxMs: 2000 };
  assert.equal(
    backoffDelay(1, policy, 0, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(4, policy, 0, () => 1),
    800,
  );
  assert.equal(
    backoffDelay(10, policy, 0, () => 1),
    2000,
  );
  assert.equal(
    backoffDelay(10, policy, 0, () => 0),
    1000,
  );
  assert.equal(
    backoffDelay(1, policy, 1500, () => 0),
    1500,
  );
});

test('advertising: no consent is refused, the night window holds until 08:00 KST, and an opt-out tag is computed', () => {
  const ad: CampaignSpec = { ...campaign, purpose: 'advertising', optOutNumber: '0801234567' };
  const { dataKey, ctx } = setup(ad);
  const night = Date.parse('2026-11-24T22:00:00+09:00');
  const optOutKey = Buffer.alloc(32, 9);
  const seal = (id: string, consent: { advertising?: boolean; night?: boolean }) =>
    sealCampaignRecord(dataKey, 'promo-1', id, {
      phone: '01012345678',
      name: '김민지',
      vars: { store: '강남점' },
      consent,
    });

  assert.throws(
    () => prepareMessage(seal('r1', { advertising: false }), { ...ctx, optOutKey, now: night }),
    (e: PrepareError) => e.reason === 'no-advertising-consent',
  );
  assert.throws(
    () => prepareMessage(seal('r2', { advertising: true }), { ...ctx, now: night }),
    (e: PrepareError) => e.reason === 'opt-out-list-unavailable',
    'fails closed without the opt-out list',
  );
  assert.throws(
    () => prepareMessage(seal('r3', { advertising: true }), { ...ctx, optOutKey, now: night }),
    (e: HeldUntil) => e instanceof HeldUntil && e.untilMs === Date.parse('2026-11-25T08:00:00+09:00'),
  );
  const withNightConsent = prepareMessage(seal('r4', { advertising: true, night: true }), {
    ...ctx,
    optOutKey,
    now: night,
  });
  assert.equal(withNightConsent.optOutTag, optOutTag(optOutKey, '0801234567', '01012345678'));
  const morning = prepareMessage(seal('r5', { advertising: true }), {
    ...ctx,
    optOutKey,
    now: Date.parse('2026-11-25T08:00:00+09:00'),
  });
  assert.ok(morning.optOutTag);
});

test('a message expires at its ttl from enqueueing or at the campaign notAfter, whichever is first', () => {
  const at = Date.parse('2026-12-03T10:00:00Z');
  const notAfterMs = Date.parse('2026-12-03T10:30:00Z');
  assert.equal(expiresAt({ ttlMs: 0 }, at), 0, 'neither: never');
  assert.equal(expiresAt({ ttlMs: 3_600_000 }, at), at + 3_600_000);
  assert.equal(expiresAt({ ttlMs: 0, notAfterMs }, at), notAfterMs);
  assert.equal(expiresAt({ ttlMs: 3_600_000, notAfterMs }, at), notAfterMs, 'notAfter comes first');
  assert.equal(expiresAt({ ttlMs: 60_000, notAfterMs }, at), at + 60_000, 'the ttl comes first');
});
