import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LMS_MAX_BYTES,
  MessageTooLongError,
  SMS_MAX_BYTES,
  carrierByteLength,
  chooseTextChannel,
  countUnencodable,
} from './korean-bytes.ts';

test('ASCII is 1 byte, Hangul syllables 2 bytes', () => {
  assert.equal(carrierByteLength(''), 0);
  assert.equal(carrierByteLength('Hello, 080!'), 11);
  assert.equal(carrierByteLength('안심'), 4);
  assert.equal(carrierByteLength('가힣'), 4); // first and last syllables (힣 is outside KS X 1001, inside CP949)
  assert.equal(carrierByteLength('(광고) 안심마트 무료수신거부 080-123-4567'), 6 + 1 + 8 + 1 + 12 + 1 + 12);
});

test('other CP949 characters count as the encoder does: jamo, symbols, hanja are 2 bytes', () => {
  assert.equal(carrierByteLength('ㄱㅏ'), 4);
  assert.equal(carrierByteLength('★♥①'), 6);
  assert.equal(carrierByteLength('漢'), 2);
  assert.equal(carrierByteLength('·'), 2);
  assert.equal(countUnencodable('★♥①漢'), 0);
});

test('characters CP949 cannot encode become "?" and count 1 byte each (an emoji is one "?")', () => {
  assert.equal(carrierByteLength('😀'), 1);
  assert.equal(carrierByteLength('👍🏻'), 2); // emoji + skin-tone modifier: two code points
  assert.equal(carrierByteLength('café'), 4);
  assert.equal(carrierByteLength('\ud800'), 1); // lone surrogate
  assert.equal(countUnencodable('안녕😀 café'), 2);
  assert.equal(carrierByteLength('안녕😀'), 5);
});

test('chooseTextChannel: SMS up to 90 bytes inclusive, LMS up to 2000, MMS with an image', () => {
  assert.equal(chooseTextChannel('a'.repeat(SMS_MAX_BYTES)), 'SMS');
  assert.equal(chooseTextChannel('가'.repeat(45)), 'SMS');
  assert.equal(chooseTextChannel('가'.repeat(45) + 'a'), 'LMS');
  assert.equal(chooseTextChannel('a'.repeat(SMS_MAX_BYTES + 1)), 'LMS');
  assert.equal(chooseTextChannel('가'.repeat(1000)), 'LMS');
  assert.equal(chooseTextChannel('a'.repeat(LMS_MAX_BYTES)), 'LMS');
  assert.equal(chooseTextChannel('짧은 글', true), 'MMS');
  assert.equal(chooseTextChannel('', false), 'SMS');
});

test('too long: a typed error with the byte count and limit, and no message text', () => {
  const text = '가'.repeat(1000) + 'a';
  assert.throws(
    () => chooseTextChannel(text),
    (e: unknown) =>
      e instanceof MessageTooLongError &&
      e.reason === 'message-too-long' &&
      e.byteLength === 2001 &&
      e.limit === LMS_MAX_BYTES &&
      !e.message.includes('가'),
  );
  assert.throws(() => chooseTextChannel(text, true), MessageTooLongError);
});
