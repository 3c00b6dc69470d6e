import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapHeaderRow, normalizeHeader } from './headers.ts';

test('Korean and English header spellings map to recipient fields; other columns become variables', () => {
  const map = mapHeaderRow(['이름', '휴대폰 번호', '광고수신동의', '야간 수신동의', '동의일자', '매장', '쿠폰코드']);
  assert.deepEqual(map?.fields, { name: 0, phone: 1, advertisingConsent: 2, nightConsent: 3, consentDate: 4 });
  assert.deepEqual(
    map?.vars.map((v) => v.name),
    ['매장', '쿠폰코드'],
  );
  assert.deepEqual(mapHeaderRow(['Name', 'Phone', 'store'])?.fields, { name: 0, phone: 1 });
  for (const phone of ['전화번호', '휴대폰', '휴대폰번호', '연락처', 'phone', '핸드폰번호', 'Mobile'])
    assert.equal(mapHeaderRow(['성명', phone])?.fields.phone, 1, phone);
});

test('a mobile column wins over a general phone column, which stays a variable', () => {
  const map = mapHeaderRow(['전화번호', '이름', '휴대폰']);
  assert.equal(map?.fields.phone, 2);
  assert.deepEqual(map?.vars, [{ name: '전화번호', column: 0 }]);
  // …whichever comes first in the sheet.
  const reversed = mapHeaderRow(['휴대폰', '전화번호']);
  assert.equal(reversed?.fields.phone, 0);
  assert.deepEqual(reversed?.vars, [{ name: '전화번호', column: 1 }]);
});

test('a row without a phone column is not a header row; repeated and empty headers are skipped', () => {
  assert.equal(mapHeaderRow(['3월 고객 명단', undefined, '']), undefined);
  const map = mapHeaderRow(['연락처', '매장', '매장', '', undefined, '메모']);
  assert.deepEqual(map?.vars, [
    { name: '매장', column: 1 },
    { name: '메모', column: 5 },
  ]);
});

test('normalizeHeader drops spaces, punctuation, markers and zero-width characters', () => {
  assert.equal(normalizeHeader(' 휴대폰 번호(필수) '), '휴대폰번호');
  assert.equal(normalizeHeader('\uFEFF광고_수신-동의*'), '광고수신동의');
  assert.equal(normalizeHeader('Phone Number'), 'phonenumber');
});
