import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guardAttributes, guardValue, isSafeValue, refusalOf, REDACTED } from './guard.ts';
import { SPAN_ATTRIBUTE_KEYS } from './conventions.ts';

const PHONES = ['01099990417', '010-9999-0417', '+82 10 9999 0417', '+821099990417', '02-987-6543', '010.9999.0417'];

test('identifiers, enum names, counts and timestamps pass unchanged', () => {
  for (const v of [
    'default.weekend-promo',
    'alim-1732400000000',
    'anshim.campaign.default.weekend-promo.bulk',
    'NOT_KAKAO_USER',
    'skt',
    'invalid-phone',
    '127.0.0.1',
    500,
    1_732_400_000_000,
    true,
    ['SMS', 'LMS'],
  ]) {
    assert.equal(isSafeValue(v), true, String(v));
  }
  assert.equal(guardValue('anshim.carrier.v1.CarrierGateway/Submit'), 'anshim.carrier.v1.CarrierGateway/Submit');
});

test('phone numbers in any spelling, inside text too, are refused', () => {
  for (const p of PHONES) {
    assert.equal(refusalOf(p), 'phone-like', p);
    assert.equal(refusalOf(`campaign-for-${p}`), 'phone-like', p);
    assert.equal(guardValue(p), REDACTED);
  }
  // Stored as a number, a mobile number loses its trunk 0; still refused.
  assert.equal(refusalOf(1099990417), 'phone-like');
  assert.equal(refusalOf(821099990417), 'phone-like');
  assert.equal(refusalOf(['SMS', '010-9999-0417']), 'phone-like');
});

test('names (Hangul) and over-long values are refused', () => {
  for (const name of ['카나리아', '김민수', '홍길동님', 'store-강남점']) assert.equal(refusalOf(name), 'hangul', name);
  assert.equal(refusalOf('x'.repeat(201)), 'too-long');
});

test('guardAttributes keeps only allow-listed keys and redacts unsafe values', () => {
  const out = guardAttributes(
    {
      'messaging.system': 'kafka',
      'messaging.destination.name': 'anshim.campaign.c1.bulk',
      'messaging.batch.message_count': 500,
      'anshim.campaign.id': 'c-01099990417',
      'recipient.phone': '01099990417',
      'recipient.name': '카나리아',
      'messaging.kafka.message.key': 'r42',
    },
    SPAN_ATTRIBUTE_KEYS.messaging,
  );
  assert.deepEqual(out, {
    'messaging.system': 'kafka',
    'messaging.destination.name': 'anshim.campaign.c1.bulk',
    'messaging.batch.message_count': 500,
    'anshim.campaign.id': REDACTED,
  });
});

test('no kind of span may carry exception messages, URL paths or message keys', () => {
  for (const keys of Object.values(SPAN_ATTRIBUTE_KEYS)) {
    for (const k of [
      'exception.message',
      'exception.stacktrace',
      'url.path',
      'url.query',
      'url.full',
      'messaging.kafka.message.key',
      'messaging.message.id',
    ]) {
      assert.equal(keys.has(k), false, k);
    }
  }
});
