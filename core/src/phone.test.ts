import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import {
  FAST_MOBILE,
  InvalidPhoneError,
  isKoreanMobile,
  maskName,
  maskPhone,
  maskPhonesInText,
  normalizeKoreanPhone,
} from './phone.ts';

test('mobile numbers in every usual spelling normalise to the same digits and E.164', () => {
  for (const input of [
    '010-1234-5678',
    '01012345678',
    '+82 10-1234-5678',
    '+821012345678',
    '+82 010 1234 5678',
    '82-10-1234-5678',
    '010.1234.5678',
    ' 010 1234 5678 ',
  ]) {
    assert.deepEqual(
      normalizeKoreanPhone(input),
      { national: '01012345678', e164: '+821012345678', kind: 'mobile' },
      input,
    );
  }
});

test('legacy mobile prefixes 011/016/017/018/019', () => {
  assert.deepEqual(normalizeKoreanPhone('011-123-4567'), {
    national: '0111234567',
    e164: '+82111234567',
    kind: 'mobile',
  });
  for (const prefix of ['016', '017', '018', '019']) {
    assert.equal(normalizeKoreanPhone(`${prefix}-1234-5678`).e164, `+82${prefix.slice(1)}12345678`);
    assert.equal(isKoreanMobile(`${prefix}-1234-5678`), true);
  }
});

test('landlines, VoIP and representative numbers', () => {
  assert.deepEqual(normalizeKoreanPhone('02-123-4567'), {
    national: '021234567',
    e164: '+8221234567',
    kind: 'landline',
  });
  assert.deepEqual(normalizeKoreanPhone('(02) 1234-5678'), {
    national: '0212345678',
    e164: '+82212345678',
    kind: 'landline',
  });
  assert.deepEqual(normalizeKoreanPhone('031-123-4567'), {
    national: '0311234567',
    e164: '+82311234567',
    kind: 'landline',
  });
  assert.equal(normalizeKoreanPhone('070-1234-5678').kind, 'voip');
  assert.deepEqual(normalizeKoreanPhone('1588-0000'), {
    national: '15880000',
    e164: '+8215880000',
    kind: 'representative',
  });
  assert.equal(isKoreanMobile('02-123-4567'), false);
  assert.throws(
    () => normalizeKoreanPhone('02-123-4567', { mobileOnly: true }),
    (e: unknown) => e instanceof InvalidPhoneError && e.reason === 'not-mobile',
  );
});

test('invalid input: typed reasons, and the message never contains the input', () => {
  const cases: [string, InvalidPhoneError['reason']][] = [
    ['', 'empty'],
    [' - ', 'empty'],
    ['abc', 'unparseable'],
    ['+1 202-555-0100', 'not-korean'],
    ['010-12', 'invalid'],
    ['010-1234-56789', 'invalid'],
  ];
  for (const [input, reason] of cases) {
    assert.throws(
      () => normalizeKoreanPhone(input),
      (e: unknown) =>
        e instanceof InvalidPhoneError &&
        e.reason === reason &&
        (input.trim() === '' || !e.message.includes(input)) &&
        !/\d{4}/.test(e.message),
      input,
    );
  }
});

test('the mobile fast path agrees with libphonenumber metadata', () => {
  // Every 4-digit head after each prefix, with 7- and 8-digit subscriber parts.
  for (const prefix of ['010', '011', '016', '017', '018', '019']) {
    for (let head = 0; head < 10_000; head += 7) {
      for (const tail of ['000', '0000']) {
        const digits = prefix + String(head).padStart(4, '0') + tail;
        const parsed = parsePhoneNumberFromString(digits, 'KR');
        const viaLibrary = parsed !== undefined && parsed.isValid() && parsed.getType() === 'MOBILE';
        assert.equal(FAST_MOBILE.test(digits), viaLibrary, digits);
      }
    }
  }
});

test('maskPhone shows the first and last groups only', () => {
  assert.equal(maskPhone('01012345678'), '010-****-5678');
  assert.equal(maskPhone('+82 10-1234-5678'), '010-****-5678');
  assert.equal(maskPhone('011-123-4567'), '011-***-4567');
  assert.equal(maskPhone('02-123-4567'), '02-***-4567');
  assert.equal(maskPhone('031-1234-5678'), '031-****-5678');
  assert.equal(maskPhone('1588-1234'), '1588-****');
  assert.equal(maskPhone('12-34'), '****');
  assert.equal(maskPhone('999-999-1234'), '******1234');
});

test('maskName keeps the first and last characters', () => {
  assert.equal(maskName('홍길동'), '홍*동');
  assert.equal(maskName('남궁민수'), '남**수');
  assert.equal(maskName('이안'), '이*');
  assert.equal(maskName('김'), '*');
  assert.equal(maskName('Jane Doe'), 'J******e');
});

test('maskPhonesInText masks every spelling and leaves other numbers alone', () => {
  const text =
    'to 010-9999-0001, 01099990002, +82 10 9999 0003, +821099990004, 02-123-4567 and (02)1234-5678; ts 1718000000000 id rec-42 total 12345';
  const masked = maskPhonesInText(text);
  for (const canary of ['9999-0001', '01099990002', '9999 0003', '1099990004', '123-4567', '1234-5678'])
    assert.ok(!masked.includes(canary), canary);
  assert.match(masked, /010-\*\*\*\*-0001/);
  assert.match(masked, /ts 1718000000000 id rec-42 total 12345$/);
});
