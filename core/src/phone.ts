// Korean phone numbers: normalisation for dispatch, masking for display and logs.
// Nothing here ever puts the input into an error message.
import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';

export type PhoneKind = 'mobile' | 'landline' | 'voip' | 'representative' | 'other';

export interface KoreanPhone {
  /** National digits with the trunk 0, e.g. 01012345678, 021234567, 15880000. */
  national: string;
  /** E.164, e.g. +821012345678. */
  e164: string;
  kind: PhoneKind;
}

export type InvalidPhoneReason = 'empty' | 'unparseable' | 'not-korean' | 'invalid' | 'not-mobile';

export class InvalidPhoneError extends Error {
  override readonly name = 'InvalidPhoneError';
  constructor(readonly reason: InvalidPhoneReason) {
    super(`invalid phone number: ${reason}`);
  }
}

// Separators people type between digit groups.
const SEPARATORS = /[\s\-.()]/g;
// Fast path for the overwhelmingly common case (plain KR mobile digits): ~30x cheaper than
// libphonenumber's full parse. 010-5970…010-5999 is not a mobile range in libphonenumber's
// metadata; phone.test.ts checks this pattern still agrees with the metadata.
export const FAST_MOBILE = /^(?:010(?!59[7-9])|01[16789])\d{7,8}$/;

function kindOf(type: NumberType): PhoneKind {
  switch (type) {
    case 'MOBILE':
      return 'mobile';
    case 'FIXED_LINE':
      return 'landline';
    case 'VOIP':
      return 'voip';
    case 'UAN':
      return 'representative';
    default:
      return 'other';
  }
}

/** Normalises any usual spelling of a Korean number; throws InvalidPhoneError otherwise. */
export function normalizeKoreanPhone(input: string, options: { mobileOnly?: boolean } = {}): KoreanPhone {
  const compact = input.replace(SEPARATORS, '');
  if (compact.length === 0) throw new InvalidPhoneError('empty');
  const national = compact.startsWith('+82') ? '0' + compact.slice(compact[3] === '0' ? 4 : 3) : compact;
  if (FAST_MOBILE.test(national)) return { national, e164: '+82' + national.slice(1), kind: 'mobile' };

  const parsed = parsePhoneNumberFromString(input, 'KR');
  if (parsed === undefined) throw new InvalidPhoneError('unparseable');
  if (parsed.country !== 'KR')
    throw new InvalidPhoneError(parsed.countryCallingCode === '82' ? 'invalid' : 'not-korean');
  if (!parsed.isValid()) throw new InvalidPhoneError('invalid');
  const kind = kindOf(parsed.getType() ?? ('UNKNOWN' as NumberType));
  if (options.mobileOnly && kind !== 'mobile') throw new InvalidPhoneError('not-mobile');
  return { national: parsed.formatNational().replace(/\D/g, ''), e164: parsed.number, kind };
}

/** True for a valid Korean mobile number (SMS/LMS/AlimTalk recipients). */
export function isKoreanMobile(input: string): boolean {
  try {
    return normalizeKoreanPhone(input).kind === 'mobile';
  } catch {
    return false;
  }
}

/** Splits national digits into the groups Koreans write: 010-1234-5678, 02-123-4567, 1588-0000. */
function groups(national: string): string[] {
  if (/^1\d{7}$/.test(national)) return [national.slice(0, 4), national.slice(4)];
  const area = national.startsWith('02') ? 2 : /^0(?:50[2-8]|130)/.test(national) ? 4 : 3;
  return [national.slice(0, area), national.slice(area, -4), national.slice(-4)];
}

/** Masks the middle group for display: 01012345678 → 010-****-5678. Never throws. */
export function maskPhone(input: string): string {
  let national: string;
  try {
    national = normalizeKoreanPhone(input).national;
  } catch {
    // Not a number we understand: keep only the last four digits' positions visible.
    const digits = input.replace(/\D/g, '');
    return digits.length <= 4 ? '*'.repeat(digits.length) : '*'.repeat(digits.length - 4) + digits.slice(-4);
  }
  const parts = groups(national);
  if (parts.length === 2) return `${parts[0]}-${'*'.repeat(parts[1]?.length ?? 4)}`;
  return `${parts[0]}-${'*'.repeat(parts[1]?.length ?? 4)}-${parts[2]}`;
}

/** Masks a name for display: 홍길동 → 홍*동, 남궁민수 → 남**수, 이안 → 이*. */
export function maskName(name: string): string {
  const chars = Array.from(name.trim());
  if (chars.length <= 1) return '*';
  if (chars.length === 2) return `${chars[0]}*`;
  return `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`;
}

// Anything shaped like a Korean mobile or landline number, in any usual spelling, not
// glued to other digits. Deliberately broad: a false positive only costs a masked id.
const PHONE_IN_TEXT =
  /(?<!\d)(?:\+?82[-.\s]?0?|0)(1[016789]|2|[3-6][1-5]|70|50[2-8])[-.\s)]{0,2}(\d{3,4})[-.\s]?(\d{4})(?!\d)/g;

/** Masks every phone-number-looking run in free text (log messages, error details). */
export function maskPhonesInText(text: string): string {
  return text.replace(
    PHONE_IN_TEXT,
    (_m, prefix: string, middle: string, last: string) => `0${prefix}-${'*'.repeat(middle.length)}-${last}`,
  );
}

/** Cheap check used before the replace, so clean strings are not copied. */
export function containsPhoneLike(text: string): boolean {
  PHONE_IN_TEXT.lastIndex = 0;
  const found = PHONE_IN_TEXT.test(text);
  PHONE_IN_TEXT.lastIndex = 0;
  return found;
}
