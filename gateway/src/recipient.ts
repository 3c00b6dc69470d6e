// One row (or one API message) → a recipient to seal, or a rejection with a reason. Shared by
// the spreadsheet ingest and the single-message API so both apply the same rules.
import { InvalidPhoneError, maskName, maskPhone, normalizeKoreanPhone } from '@anshim/core';
import type { IRecipientPayload } from '@anshim/proto';
import { cellText, type Cell } from './rows.ts';

export const REJECTION_REASONS = [
  'missing-phone',
  'invalid-phone',
  'not-korean',
  'landline',
  'not-mobile',
  'formula',
  'error-cell',
  'cell-too-long',
  'no-advertising-consent',
  'invalid-consent',
  'invalid-consent-date',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** The cells of one recipient, by meaning; vars keep their header names. */
export interface RecipientCells {
  phone: Cell | undefined;
  name?: Cell | undefined;
  advertisingConsent?: Cell | undefined;
  nightConsent?: Cell | undefined;
  consentDate?: Cell | undefined;
  vars: Array<[string, Cell | undefined]>;
}

export interface RecipientPolicy {
  /** An advertising campaign: prior opt-in is required (정보통신망법 제50조). */
  advertising: boolean;
  /** Every channel but push reaches a handset: landlines and 070/15xx numbers cannot receive. */
  mobileOnly: boolean;
  now: number;
}

export interface AcceptedRecipient {
  ok: true;
  /** National digits, e.g. 01012345678: what the record id is derived from. */
  national: string;
  payload: IRecipientPayload;
  /** Advertising consent older than two years: to be re-confirmed (flagged, still accepted). */
  consentStale: boolean;
  /** Advertising consent with no date: its age cannot be checked. */
  consentUndated: boolean;
}

export interface Rejection {
  ok: false;
  reason: RejectionReason;
  /** The header of the column at fault, when one is. */
  column?: string;
  /** Masked for display only: 010-****-5678, 김*수. */
  phone?: string;
  name?: string;
}

const TRUE_WORDS = new Set(
  [
    'y',
    'yes',
    'o',
    '○',
    '◯',
    '●',
    'v',
    '✓',
    '✔',
    '1',
    'true',
    'ok',
    '동의',
    '예',
    '네',
    '수신',
    '수신동의',
    '허용',
  ].map((w) => w.normalize('NFC')),
);
const FALSE_WORDS = new Set(
  [
    '',
    'n',
    'no',
    'x',
    '×',
    '✕',
    '0',
    'false',
    '미동의',
    '비동의',
    '동의안함',
    '아니오',
    '아니요',
    '거부',
    '수신거부',
    '미수신',
    '거절',
  ].map((w) => w.normalize('NFC')),
);

/** Y/N, O/X, 동의/미동의, TRUE/FALSE, 1/0 …; undefined when the value means neither. */
export function parseConsent(cell: Cell | undefined): boolean | undefined {
  const word = cellText(cell).normalize('NFC').replace(/\s/g, '').toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

const KST_OFFSET_MS = 9 * 3600 * 1000;
const DAY_MS = 86_400_000;
/** Excel's serial day 25569 is 1970-01-01. */
const EXCEL_EPOCH_SERIAL = 25569;

function kstDate(y: number, m: number, d: number, hh = 0, mm = 0, ss = 0): number | undefined {
  const ms = Date.UTC(y, m - 1, d, hh, mm, ss);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return undefined;
  if (hh > 23 || mm > 59 || ss > 59) return undefined;
  return ms - KST_OFFSET_MS;
}

const DATE_TEXT =
  /^(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*일?\.?(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/u;

/**
 * A consent date as ms since the epoch (dates without a zone are KST), null when empty,
 * undefined when unreadable. Accepts 2024-03-01, 2024.03.01, 2024/3/1, 2024년 3월 1일,
 * 20240301, ISO timestamps, and xlsx date serials.
 */
export function parseConsentDate(cell: Cell | undefined): number | null | undefined {
  const text = cellText(cell);
  if (text === '') return null;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (compact) return kstDate(Number(compact[1]), Number(compact[2]), Number(compact[3]));
  if (cell?.kind === 'number') {
    const serial = Number(text);
    if (!Number.isFinite(serial) || serial < 1 || serial > 2_958_465) return undefined;
    return Math.round((serial - EXCEL_EPOCH_SERIAL) * DAY_MS) - KST_OFFSET_MS;
  }
  const m = DATE_TEXT.exec(text);
  if (m)
    return kstDate(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  if (/^\d{4}-\d{2}-\d{2}T.*(?:Z|[+-]\d{2}:?\d{2})$/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** The same calendar moment two years earlier (Feb 29 → Mar 1). */
export const twoYearsBefore = (now: number): number => {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - 2);
  return d.getTime();
};

/** xlsx stores a typed-in 010… number as the number 1012345678: give the trunk 0 back. */
export function phoneText(cell: Cell | undefined): string {
  let text = cellText(cell);
  if (cell?.kind === 'number') {
    if (/e/i.test(text)) {
      const n = Number(text);
      if (Number.isSafeInteger(n)) text = String(n);
    }
    if (/^82\d{9,10}$/.test(text)) text = `+${text}`;
    else if (/^[1-9]\d{7,9}$/.test(text) && !/^1[5-9]\d{6}$/.test(text)) text = `0${text}`;
  }
  return text;
}

const PHONE_REASON: Record<InvalidPhoneError['reason'], RejectionReason> = {
  empty: 'missing-phone',
  unparseable: 'invalid-phone',
  invalid: 'invalid-phone',
  'not-korean': 'not-korean',
  'not-mobile': 'not-mobile',
};

export function validateRecipient(
  cells: RecipientCells,
  columns: Partial<Record<keyof Omit<RecipientCells, 'vars'>, string>>,
  policy: RecipientPolicy,
): AcceptedRecipient | Rejection {
  const rawPhone = phoneText(cells.phone);
  const rawName = cellText(cells.name);
  const masked = (): Pick<Rejection, 'phone' | 'name'> => ({
    ...(rawPhone ? { phone: maskPhone(rawPhone) } : {}),
    ...(rawName ? { name: maskName(rawName) } : {}),
  });
  const reject = (reason: RejectionReason, column?: string): Rejection => ({
    ok: false,
    reason,
    ...(column ? { column } : {}),
    ...masked(),
  });

  // Refuse anything a spreadsheet would have computed: we never evaluate, and never trust a cached result.
  const fields: Array<[string | undefined, Cell | undefined]> = [
    [columns.phone, cells.phone],
    [columns.name, cells.name],
    [columns.advertisingConsent, cells.advertisingConsent],
    [columns.nightConsent, cells.nightConsent],
    [columns.consentDate, cells.consentDate],
    ...cells.vars,
  ];
  for (const [column, cell] of fields) {
    if (cell?.kind === 'formula') return reject('formula', column);
    if (cell?.kind === 'oversize') return reject('cell-too-long', column);
    if (cell?.kind === 'error') return reject('error-cell', column);
  }

  let national: string;
  try {
    const phone = normalizeKoreanPhone(rawPhone);
    if (policy.mobileOnly && phone.kind !== 'mobile')
      return reject(phone.kind === 'landline' ? 'landline' : 'not-mobile', columns.phone);
    national = phone.national;
  } catch (err) {
    if (err instanceof InvalidPhoneError) return reject(PHONE_REASON[err.reason], columns.phone);
    throw err;
  }

  const advertising = parseConsent(cells.advertisingConsent);
  const night = parseConsent(cells.nightConsent);
  const consentedAt = parseConsentDate(cells.consentDate);
  if (policy.advertising) {
    if (advertising === undefined) return reject('invalid-consent', columns.advertisingConsent);
    if (!advertising) return reject('no-advertising-consent', columns.advertisingConsent);
    if (night === undefined) return reject('invalid-consent', columns.nightConsent);
    if (consentedAt === undefined || (consentedAt !== null && consentedAt > policy.now + DAY_MS))
      return reject('invalid-consent-date', columns.consentDate);
  }
  const consentedAtMs = typeof consentedAt === 'number' ? consentedAt : 0;
  const adConsent = advertising === true;

  const vars: Record<string, string> = {};
  for (const [name, cell] of cells.vars) {
    const value = cellText(cell);
    if (value !== '') vars[name] = value;
  }
  return {
    ok: true,
    national,
    payload: {
      phone: national,
      name: rawName,
      vars,
      consent: { advertising: adConsent, night: night === true, consentedAtMs },
    },
    consentStale: adConsent && consentedAtMs > 0 && consentedAtMs < twoYearsBefore(policy.now),
    consentUndated: adConsent && consentedAtMs === 0,
  };
}
