import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseConsent,
  parseConsentDate,
  phoneText,
  twoYearsBefore,
  validateRecipient,
  type RecipientCells,
  type RecipientPolicy,
} from './recipient.ts';
import type { Cell } from './rows.ts';

const text = (value: string): Cell => ({ value, kind: 'text' });
const NOW = Date.UTC(2025, 5, 1, 3); // 2025-06-01 12:00 KST
const ADS: RecipientPolicy = { advertising: true, mobileOnly: true, now: NOW };
const INFO: RecipientPolicy = { advertising: false, mobileOnly: true, now: NOW };
const COLUMNS = {
  phone: '휴대폰',
  name: '이름',
  advertisingConsent: '광고수신동의',
  nightConsent: '야간',
  consentDate: '동의일자',
};

const cells = (over: Partial<RecipientCells> = {}): RecipientCells => ({
  phone: text('010-1234-5678'),
  name: text('김철수'),
  advertisingConsent: text('Y'),
  nightConsent: text('N'),
  consentDate: text('2025-01-02'),
  vars: [['매장', text('강남점')]],
  ...over,
});

test('an accepted row carries the normalised number, name, vars and consent flags', () => {
  const v = validateRecipient(cells(), COLUMNS, ADS);
  assert.ok(v.ok);
  assert.equal(v.national, '01012345678');
  assert.deepEqual(v.payload, {
    phone: '01012345678',
    name: '김철수',
    vars: { 매장: '강남점' },
    consent: { advertising: true, night: false, consentedAtMs: Date.UTC(2025, 0, 1, 15) },
  });
  assert.equal(v.consentStale, false);
});

test('numbers as xlsx stores them get their leading 0 back; +82 and spaced spellings normalise', () => {
  assert.equal(phoneText({ value: '1012345678', kind: 'number' }), '01012345678');
  assert.equal(phoneText({ value: '821012345678', kind: 'number' }), '+821012345678');
  assert.equal(phoneText({ value: '1.012345678E9', kind: 'number' }), '01012345678');
  assert.equal(phoneText({ value: '15881234', kind: 'number' }), '15881234');
  for (const spelling of ['+82 10-1234-5678', '010 1234 5678', '(010)1234-5678', '010.1234.5678']) {
    const v = validateRecipient(cells({ phone: text(spelling) }), COLUMNS, INFO);
    assert.ok(v.ok && v.national === '01012345678', spelling);
  }
});

test('bad numbers are refused with a reason and masked values only', () => {
  const reasons = (phone: string, policy = INFO) => {
    const v = validateRecipient(cells({ phone: text(phone) }), COLUMNS, policy);
    return v.ok ? 'accepted' : v.reason;
  };
  assert.equal(reasons(''), 'missing-phone');
  assert.equal(reasons('010-12'), 'invalid-phone');
  assert.equal(reasons('hello'), 'invalid-phone');
  assert.equal(reasons('02-123-4567'), 'landline');
  assert.equal(reasons('1588-1234'), 'not-mobile');
  assert.equal(reasons('+1 415 555 0100'), 'not-korean');
  // A push campaign reaches an app, not a handset: any valid Korean number identifies the user.
  assert.equal(reasons('02-123-4567', { ...INFO, mobileOnly: false }), 'accepted');

  const v = validateRecipient(cells({ phone: text('02-123-4567') }), COLUMNS, INFO);
  assert.deepEqual(v, { ok: false, reason: 'landline', column: '휴대폰', phone: '02-***-4567', name: '김*수' });
});

test('advertising needs an explicit opt-in; other purposes carry the flags as given', () => {
  const ad = (consent: string) => validateRecipient(cells({ advertisingConsent: text(consent) }), COLUMNS, ADS);
  assert.equal((ad('N') as { reason: string }).reason, 'no-advertising-consent');
  assert.equal((ad('') as { reason: string }).reason, 'no-advertising-consent');
  assert.equal((ad('글쎄요') as { reason: string }).reason, 'invalid-consent');
  assert.ok(ad('동의').ok);
  const info = validateRecipient(cells({ advertisingConsent: text('N'), nightConsent: text('Y') }), COLUMNS, INFO);
  assert.ok(info.ok);
  assert.deepEqual(info.payload.consent, { advertising: false, night: true, consentedAtMs: Date.UTC(2025, 0, 1, 15) });
});

test('consent older than two years, or undated, is flagged and still accepted; a future date is refused', () => {
  const stale = validateRecipient(cells({ consentDate: text('2023.05.31') }), COLUMNS, ADS);
  assert.ok(stale.ok && stale.consentStale && !stale.consentUndated);
  const recent = validateRecipient(cells({ consentDate: text('2023.06.02') }), COLUMNS, ADS);
  assert.ok(recent.ok && !recent.consentStale);
  const undated = validateRecipient(cells({ consentDate: undefined }), COLUMNS, ADS);
  assert.ok(undated.ok && undated.consentUndated);
  const future = validateRecipient(cells({ consentDate: text('2030-01-01') }), COLUMNS, ADS);
  assert.equal(!future.ok && future.reason, 'invalid-consent-date');
  const garbage = validateRecipient(cells({ consentDate: text('어제') }), COLUMNS, ADS);
  assert.equal(!garbage.ok && garbage.reason, 'invalid-consent-date');
});

test('consent words and date spellings Korean offices use', () => {
  for (const yes of ['Y', 'yes', 'O', '○', '동의', '예', 'TRUE', '1', ' 수신동의 '])
    assert.equal(parseConsent(text(yes)), true, yes);
  for (const no of ['N', 'x', 'X', '미동의', '거부', 'FALSE', '0', '']) assert.equal(parseConsent(text(no)), false, no);
  assert.equal(parseConsent(text('maybe')), undefined);
  const jan2 = Date.UTC(2024, 0, 1, 15); // 2024-01-02 00:00 KST
  for (const d of ['2024-01-02', '2024.01.02', '2024/1/2', '2024년 1월 2일', '20240102', '2024. 1. 2.'])
    assert.equal(parseConsentDate(text(d)), jan2, d);
  assert.equal(parseConsentDate({ value: '45293', kind: 'number' }), jan2); // xlsx serial of 2024-01-02
  assert.equal(parseConsentDate(text('2024-01-01T15:00:00Z')), jan2);
  assert.equal(parseConsentDate(text('2024-02-30')), undefined);
  assert.equal(parseConsentDate(text('')), null);
  assert.equal(twoYearsBefore(Date.UTC(2024, 1, 29)), Date.UTC(2022, 2, 1));
});

test('formula, error and oversize cells refuse the row, naming the column', () => {
  const formula = validateRecipient(cells({ vars: [['쿠폰', { value: '', kind: 'formula' }]] }), COLUMNS, INFO);
  assert.deepEqual(formula, { ok: false, reason: 'formula', column: '쿠폰', phone: '010-****-5678', name: '김*수' });
  const phoneFormula = validateRecipient(cells({ phone: { value: '', kind: 'formula' } }), COLUMNS, INFO);
  assert.equal(!phoneFormula.ok && phoneFormula.reason, 'formula');
  const error = validateRecipient(cells({ name: { value: '', kind: 'error' } }), COLUMNS, INFO);
  assert.equal(!error.ok && error.reason, 'error-cell');
  const long = validateRecipient(cells({ name: { value: '', kind: 'oversize' } }), COLUMNS, INFO);
  assert.equal(!long.ok && long.reason, 'cell-too-long');
});
