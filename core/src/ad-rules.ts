// The clock and list checks of 정보통신망법 제50조 that run at dispatch time: the night window
// (21:00–08:00 KST needs separate consent) and the sender's opt-out (수신거부) list.
import { createHmac } from 'node:crypto';
import { normalizeKoreanPhone } from './phone.ts';

const KST_OFFSET_MS = 9 * 3_600_000;
const HOUR_MS = 3_600_000;
export const NIGHT_STARTS_AT_HOUR = 21;
export const NIGHT_ENDS_AT_HOUR = 8;

/** The hour of day in Korea (KST has no daylight saving). */
export const kstHour = (ms: number): number =>
  Math.floor((((ms + KST_OFFSET_MS) % 86_400_000) + 86_400_000) / HOUR_MS) % 24;

/** 21:00 ≤ t < 08:00 KST: advertising needs the recipient's separate night consent. */
export const isNightInKorea = (ms: number): boolean => {
  const h = kstHour(ms);
  return h >= NIGHT_STARTS_AT_HOUR || h < NIGHT_ENDS_AT_HOUR;
};

/** The next 08:00 KST at or after `ms`: when a message held for the night may go. */
export function nextMorningInKorea(ms: number): number {
  const local = ms + KST_OFFSET_MS;
  const dayStart = local - (((local % 86_400_000) + 86_400_000) % 86_400_000);
  let morning = dayStart + NIGHT_ENDS_AT_HOUR * HOUR_MS;
  if (morning < local) morning += 86_400_000;
  return morning - KST_OFFSET_MS;
}

/** Consent older than this must be re-confirmed (정보통신망법 시행령 제62조의3: every two years). */
export const CONSENT_RECONFIRM_MS = 2 * 365 * 86_400_000;

/**
 * The opt-out list's key for one number at one sender's opt-out line: a keyed hash, so the list
 * (a Kafka topic) holds no phone number and cannot be reversed without the fleet's opt-out key.
 */
export function optOutTag(key: Uint8Array, optOutNumber: string, nationalNumber: string): string {
  return createHmac('sha256', key)
    .update(`${optOutNumber.replace(/\D/g, '')}|${nationalNumber}`)
    .digest('base64url');
}

/**
 * The record that puts one number on a sender's opt-out list (value null takes it off):
 * keyed by its tag, so the topic holds no phone number. The gateway's opt-out API writes these to the
 * opt-out topic; every worker follows it.
 */
export function optOutRecord(
  key: Uint8Array,
  optOutNumber: string,
  phone: string,
  optedOut = true,
): { key: string; value: string | null } {
  const { national } = normalizeKoreanPhone(phone);
  return {
    key: optOutTag(key, optOutNumber, national),
    value: optedOut ? JSON.stringify({ at: new Date().toISOString() }) : null,
  };
}
