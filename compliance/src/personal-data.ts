// Audit entries and certificates are kept for years and handed to auditors: they must never
// hold personal data. We refuse anything phone-shaped at the door (strings, object keys, and
// integers long enough to be a number typed into a spreadsheet cell).
import { containsPhoneLike } from '@anshim/core';

export class PersonalDataError extends Error {
  override readonly name = 'PersonalDataError';
  readonly reason = 'phone-like-content';
  constructor(
    /** Where the content was found, e.g. `details.note` — never the content. */
    readonly path: string,
  ) {
    super(`refused: ${path} contains phone-number-like content (personal data is never recorded here)`);
  }
}

// Hashes, key-id suffixes and UUIDs are hex: by chance a run of their digits can look like a
// number (~1 in 300 SHA-256 hex strings does). A hex run of 16+ with a letter in it, or a UUID,
// is never a phone number, so it is blanked before the check.
const HEX_TOKEN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}/gi;
const HAS_HEX_LETTER = /[a-f]/i;

function textLooksLikePhone(text: string): boolean {
  if (!containsPhoneLike(text)) return false;
  return containsPhoneLike(text.replace(HEX_TOKEN, (m) => (HAS_HEX_LETTER.test(m) ? ' ' : m)));
}

function integerLooksLikePhone(n: number): boolean {
  // Spreadsheets drop the trunk 0 (01012345678 → 1012345678); counts never reach 10 digits.
  return Number.isInteger(n) && Math.abs(n) >= 1e9 && (containsPhoneLike(String(n)) || containsPhoneLike(`0${n}`));
}

/** The path of the first phone-like value or key in `value`, or undefined when it is clean. */
export function findPhoneLike(value: unknown, path = '$', depth = 0): string | undefined {
  if (typeof value === 'string') return textLooksLikePhone(value) ? path : undefined;
  if (typeof value === 'number') return integerLooksLikePhone(value) ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findPhoneLike(value[i], `${path}[${i}]`, depth + 1);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    if (textLooksLikePhone(key)) return `${path}.<key>`;
    const hit = findPhoneLike(item, `${path}.${key}`, depth + 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Throws PersonalDataError naming where phone-like content sits in `value`. */
export function refusePersonalData(value: unknown, path: string): void {
  const hit = findPhoneLike(value, path);
  if (hit !== undefined) throw new PersonalDataError(hit);
}
