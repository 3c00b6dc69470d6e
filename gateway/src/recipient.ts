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
  if (cell?.kind === 'number' && !/^\d{8}$/.test(text)) {
    const serial = Number(text);
    if (!Number.isFinite(serial) || serial < 1 || serial > 2_958_465) return undefined;
    return Math.round((serial - EXCEL_EPOCH_SERIAL) * DAY_MS) - KST_OFFSET_MS;
  }
  return parseConsentDateText(text);
}

/** A consent date written out as text (a cell's, or the message API's consentedAt). */
export function parseConsentDateText(text: string): number | null | undefined {
  if (text === '') return null;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (compact) return kstDate(Number(compact[1]), Number(compact[2]), Number(compact[3]));
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

/**
 * One recipient by meaning, however it arrived: a spreadsheet row (recipientFromCells) or the
 * message API's JSON (its own fields). Consent and date are already read: `undefined` is a value
 * that was there and meant nothing (a consent word we do not know, a date we cannot read).
 */
export interface RecipientFields {
  phone: string;
  name: string;
  advertisingConsent: boolean | undefined;
  nightConsent: boolean | undefined;
  /** ms since the epoch; null when none was given; undefined when unreadable. */
  consentedAt: number | null | undefined;
  vars: Record<string, string>;
}

export type RecipientColumns = Partial<Record<keyof Omit<RecipientCells, 'vars'>, string>>;

/** The message API's recipient: typed JSON, read without pretending it was a spreadsheet. */
export interface JsonRecipient {
  phone: string;
  name?: string;
  vars?: Record<string, string>;
  consent?: { advertising?: boolean; night?: boolean; consentedAt?: string };
}

export function recipientFromJson(r: JsonRecipient): RecipientFields {
  const at = r.consent?.consentedAt;
  return {
    phone: r.phone.trim(),
    name: (r.name ?? '').trim(),
    // Absent is no, as an empty consent cell is: consent is given, never presumed.
    advertisingConsent: r.consent?.advertising ?? false,
    nightConsent: r.consent?.night ?? false,
    consentedAt: at === undefined ? null : parseConsentDateText(at.trim()),
    vars: Object.fromEntries(
      Object.entries(r.vars ?? {})
        .map(([k, v]) => [k, v.trim()])
        .filter(([, v]) => v !== ''),
    ),
  };
}

/** A spreadsheet row's cells read as a recipient; refused outright when a cell is computed or broken. */
export function recipientFromCells(
  cells: RecipientCells,
  columns: RecipientColumns,
  mask: () => Pick<Rejection, 'phone' | 'name'>,
): RecipientFields | Rejection {
  // Refuse anything a spreadsheet would have computed: we never evaluate, and never trust a cached result.
  const fields: Array<[string | undefined, Cell | undefined]> = [
    [columns.phone, cells.phone],
    [columns.name, cells.name],
    [columns.advertisingConsent, cells.advertisingConsent],
    [columns.nightConsent, cells.nightConsent],
    [columns.consentDate, cells.consentDate],
    ...cells.vars,
  ];
  const refuse = (reason: RejectionReason, column?: string): Rejection => ({
    ok: false,
    reason,
    ...(column ? { column } : {}),
    ...mask(),
  });
  for (const [column, cell] of fields) {
    if (cell?.kind === 'formula') return refuse('formula', column);
    if (cell?.kind === 'oversize') return refuse('cell-too-long', column);
    if (cell?.kind === 'error') return refuse('error-cell', column);
  }
  const vars: Record<string, string> = {};
  for (const [name, cell] of cells.vars) {
    const value = cellText(cell);
    if (value !== '') vars[name] = value;
  }
  return {
    phone: phoneText(cells.phone),
    name: cellText(cells.name),
    advertisingConsent: parseConsent(cells.advertisingConsent),
    nightConsent: parseConsent(cells.nightConsent),
    consentedAt: parseConsentDate(cells.consentDate),
    vars,
  };
}

/** A spreadsheet row, validated: recipientFromCells, then the one admission path. */
export function validateRecipient(
  cells: RecipientCells,
  columns: RecipientColumns,
  policy: RecipientPolicy,
): AcceptedRecipient | Rejection {
  const mask = masker(phoneText(cells.phone), cellText(cells.name));
  const fields = recipientFromCells(cells, columns, mask);
  return 'ok' in fields ? fields : admitRecipient(fields, columns, policy);
}

const masker = (rawPhone: string, rawName: string) => (): Pick<Rejection, 'phone' | 'name'> => ({
  ...(rawPhone ? { phone: maskPhone(rawPhone) } : {}),
  ...(rawName ? { name: maskName(rawName) } : {}),
});

/**
 * The one path every recipient takes to a sealed payload, from an upload or the message API:
 * a Korean number the channel can reach, and for advertising a dated, prior opt-in (정보통신망법 제50조).
 */
export function admitRecipient(
  r: RecipientFields,
  columns: RecipientColumns,
  policy: RecipientPolicy,
): AcceptedRecipient | Rejection {
  const mask = masker(r.phone, r.name);
  const reject = (reason: RejectionReason, column?: string): Rejection => ({
    ok: false,
    reason,
    ...(column ? { column } : {}),
    ...mask(),
  });

  let national: string;
  try {
    const phone = normalizeKoreanPhone(r.phone);
    if (policy.mobileOnly && phone.kind !== 'mobile')
      return reject(phone.kind === 'landline' ? 'landline' : 'not-mobile', columns.phone);
    national = phone.national;
  } catch (err) {
    if (err instanceof InvalidPhoneError) return reject(PHONE_REASON[err.reason], columns.phone);
    throw err;
  }

  const { advertisingConsent: advertising, nightConsent: night, consentedAt } = r;
  if (policy.advertising) {
    if (advertising === undefined) return reject('invalid-consent', columns.advertisingConsent);
    if (!advertising) return reject('no-advertising-consent', columns.advertisingConsent);
    if (night === undefined) return reject('invalid-consent', columns.nightConsent);
    if (consentedAt === undefined || (consentedAt !== null && consentedAt > policy.now + DAY_MS))
      return reject('invalid-consent-date', columns.consentDate);
  }
  const consentedAtMs = typeof consentedAt === 'number' ? consentedAt : 0;
  const adConsent = advertising === true;
  return {
    ok: true,
    national,
    payload: {
      phone: national,
      name: r.name,
      vars: r.vars,
      consent: { advertising: adConsent, night: night === true, consentedAtMs },
    },
    consentStale: adConsent && consentedAtMs > 0 && consentedAtMs < twoYearsBefore(policy.now),
    consentUndated: adConsent && consentedAtMs === 0,
  };
}
