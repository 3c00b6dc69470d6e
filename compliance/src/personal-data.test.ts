import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { findPhoneLike } from './personal-data.ts';

test('phone numbers are found in any spelling, in values, keys and spreadsheet-style integers', () => {
  assert.equal(findPhoneLike({ a: ['ok', { note: 'call 010.2345.6789' }] }), '$.a[1].note');
  assert.equal(findPhoneLike({ ['+821023456789']: 1 }), '$.<key>');
  assert.equal(findPhoneLike({ n: 1023456789 }), '$.n');
  assert.equal(findPhoneLike({ rows: 1200, bytes: 40960, at: '2025-03-02T01:02:03.000Z' }), undefined);
});

test('hashes, hex key ids and UUIDs never trip the check, though their digit runs may look like numbers', () => {
  const unlucky = 'ab01023456789cd' + 'e'.repeat(49);
  assert.equal(findPhoneLike(unlucky), undefined);
  assert.equal(findPhoneLike('ns.promo-a01023456789bcde'), undefined);
  assert.equal(findPhoneLike('3f2a0c1e-a010-4123-8123-0123456789ab'), undefined);
  for (let i = 0; i < 5000; i++)
    assert.equal(findPhoneLike(createHash('sha256').update(String(i)).digest('hex')), undefined);
  assert.equal(findPhoneLike('01023456789'), '$', 'digits alone are still a number');
});
