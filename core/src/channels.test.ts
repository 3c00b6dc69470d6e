import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Channel, ResultCode } from '@anshim/proto';
import { CARRIERS } from './carrier-payload.ts';
import { CARRIER_CHANNELS, directCarrierOf, exceedsTextLimit, isFallbackResult } from './channels.ts';

test('every channel has a carrier, and only text is shared (routed by the number instead)', () => {
  const channels = Object.values(Channel).filter((c): c is Channel => typeof c === 'number' && c !== 0);
  for (const channel of channels) {
    const carriers = CARRIERS.filter((c) => CARRIER_CHANNELS[c].includes(channel));
    assert.ok(carriers.length > 0, `${Channel[channel]} has a carrier`);
    const direct = directCarrierOf(channel);
    if (carriers.length === 1) assert.equal(direct, carriers[0], Channel[channel]);
    else {
      assert.equal(direct, undefined, `${Channel[channel]} goes by the number's operator`);
      assert.deepEqual(carriers, ['skt', 'kt', 'lguplus']);
    }
  }
});

test('text limits count CP949 bytes: 45 Hangul syllables fit an SMS, 46 do not', () => {
  assert.equal(exceedsTextLimit(Channel.SMS, '가'.repeat(45)), false);
  assert.equal(exceedsTextLimit(Channel.SMS, '가'.repeat(46)), true);
  assert.equal(exceedsTextLimit(Channel.LMS, '가'.repeat(1000)), false);
  assert.equal(exceedsTextLimit(Channel.LMS, '가'.repeat(1001)), true);
  assert.equal(exceedsTextLimit(Channel.RCS, 'a'.repeat(5000)), false, 'no byte limit off the text channels');
});

test('only a Kakao refusal falls back', () => {
  assert.equal(isFallbackResult(Channel.ALIMTALK, ResultCode.NOT_KAKAO_USER), true);
  assert.equal(isFallbackResult(Channel.FRIENDTALK, ResultCode.KAKAO_BLOCKED), true);
  assert.equal(isFallbackResult(Channel.ALIMTALK, ResultCode.TEMPLATE_MISMATCH), true);
  assert.equal(isFallbackResult(Channel.SMS, ResultCode.NOT_KAKAO_USER), false);
  assert.equal(isFallbackResult(Channel.ALIMTALK, ResultCode.NUMBER_PORTED), false);
});
