// The personal-data guard: every attribute and label value that leaves a process as
// telemetry passes through here. Keys are allow-listed by the caller; values that could
// be a phone number or a name are replaced, never exported.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { containsPhoneLike } from '@anshim/core';

/** What a refused value is exported as: a constant, so a leak cannot become a label's cardinality either. */
export const REDACTED = 'redacted';

/** Hangul syllables and jamo: label values are identifiers, and Hangul in one is likely a name. */
const HANGUL = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]/;
const MAX_VALUE_LENGTH = 200;

export type RefusalReason = 'phone-like' | 'hangul' | 'too-long' | 'key-not-allowed';

export type RefusalListener = (reason: RefusalReason, signal: 'span' | 'metric') => void;
let listener: RefusalListener | undefined;

/** Lets startTelemetry count refusals (by reason only: never the key or the value). */
export function onRefusal(fn: RefusalListener | undefined): void {
  listener = fn;
}

function refusalOfScalar(value: string | number | boolean | null | undefined): RefusalReason | undefined {
  if (typeof value === 'string') {
    if (value.length > MAX_VALUE_LENGTH) return 'too-long';
    if (containsPhoneLike(value)) return 'phone-like';
    if (HANGUL.test(value)) return 'hangul';
    return undefined;
  }
  // A number stored as a number loses its trunk 0: 01012345678 becomes 1012345678.
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) >= 1e7) {
    const digits = String(Math.abs(value));
    if (containsPhoneLike(digits) || containsPhoneLike(`0${digits}`)) return 'phone-like';
  }
  return undefined;
}

/** Why `value` must not be exported, or undefined when it is safe. */
export function refusalOf(value: AttributeValue | undefined): RefusalReason | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const r = refusalOfScalar(v);
      if (r) return r;
    }
    return undefined;
  }
  return refusalOfScalar(value as string | number | boolean | undefined);
}

export const isSafeValue = (value: AttributeValue | undefined): boolean => refusalOf(value) === undefined;

/** `value` itself when it is safe, otherwise REDACTED (reported to the refusal listener). */
export function guardValue(value: string, signal: 'span' | 'metric' = 'span'): string {
  const reason = refusalOf(value);
  if (!reason) return value;
  listener?.(reason, signal);
  return REDACTED;
}

/**
 * Keeps only the allow-listed keys, and replaces any value that looks like personal data
 * with REDACTED. Returns a new object; the input is not modified.
 */
export function guardAttributes(
  attributes: Attributes | undefined,
  allowed: ReadonlySet<string>,
  signal: 'span' | 'metric' = 'span',
): Attributes {
  const out: Attributes = {};
  if (!attributes) return out;
  for (const key of Object.keys(attributes)) {
    if (!allowed.has(key)) {
      listener?.('key-not-allowed', signal);
      continue;
    }
    const value = attributes[key];
    const reason = refusalOf(value);
    if (reason) {
      listener?.(reason, signal);
      out[key] = REDACTED;
    } else out[key] = value;
  }
  return out;
}
