import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNightInKorea, kstHour, nextMorningInKorea, optOutTag } from './ad-rules.ts';

const kst = (iso: string) => Date.parse(`${iso}+09:00`);

test('the night window is 21:00 to 08:00 in Korea, whatever the server time zone', () => {
  assert.equal(kstHour(kst('2026-11-24T21:00:00')), 21);
  assert.equal(isNightInKorea(kst('2026-11-24T20:59:59')), false);
  assert.equal(isNightInKorea(kst('2026-11-24T21:00:00')), true);
  assert.equal(isNightInKorea(kst('2026-11-25T07:59:59')), true);
  assert.equal(isNightInKorea(kst('2026-11-25T08:00:00')), false);
});

test('a message held at night goes at the next 08:00 KST', () => {
  assert.equal(nextMorningInKorea(kst('2026-11-24T22:30:00')), kst('2026-11-25T08:00:00'));
  assert.equal(nextMorningInKorea(kst('2026-11-25T03:00:00')), kst('2026-11-25T08:00:00'));
  assert.equal(nextMorningInKorea(kst('2026-11-25T08:00:00')), kst('2026-11-25T08:00:00'));
});

test('opt-out tags depend on the key, the sender line and the number, and hold neither in clear', () => {
  const key = Buffer.alloc(32, 7);
  const tag = optOutTag(key, '080-123-4567', '01012345678');
  assert.equal(tag, optOutTag(key, '0801234567', '01012345678'), 'formatting of the 080 line does not matter');
  assert.notEqual(tag, optOutTag(key, '0807654321', '01012345678'), 'an opt-out is per sender line');
  assert.notEqual(tag, optOutTag(Buffer.alloc(32, 8), '0801234567', '01012345678'));
  assert.doesNotMatch(tag, /01012345678|12345678/);
});
