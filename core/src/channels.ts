// Which carrier carries which channel, how long a text may be on each, and which results send a
// message on to its fallback: one table the worker routes by and the carrier simulator screens
// by, so the two cannot drift apart.
import { Channel, ResultCode } from '@anshim/proto';
import type { CarrierId } from './carrier-payload.ts';
import { carrierByteLength, LMS_MAX_BYTES, MMS_MAX_BYTES, SMS_MAX_BYTES } from './korean-bytes.ts';

const TEXT = [Channel.SMS, Channel.LMS, Channel.MMS] as const;

/**
 * The channels each carrier accepts. The three mobile operators carry text, and which of them
 * gets a message is the number's (portability); the others are chosen by channel alone.
 */
export const CARRIER_CHANNELS: Readonly<Record<CarrierId, readonly Channel[]>> = {
  skt: TEXT,
  kt: TEXT,
  lguplus: TEXT,
  kakao: [Channel.ALIMTALK, Channel.FRIENDTALK],
  rcs: [Channel.RCS],
  push: [Channel.PUSH],
};

const DIRECT = new Map<Channel, CarrierId>(
  (['kakao', 'rcs', 'push'] as const).flatMap((c) => CARRIER_CHANNELS[c].map((ch) => [ch, c] as const)),
);

/** The one carrier of a channel routed by channel (Kakao, RCS, push); undefined for text, routed by number. */
export const directCarrierOf = (channel: Channel): CarrierId | undefined => DIRECT.get(channel);

/** Korean carriers limit SMS/LMS/MMS text by CP949 bytes (a Hangul syllable is 2), not characters. */
export const TEXT_LIMIT_BYTES: Readonly<Partial<Record<Channel, number>>> = {
  [Channel.SMS]: SMS_MAX_BYTES,
  [Channel.LMS]: LMS_MAX_BYTES,
  [Channel.MMS]: MMS_MAX_BYTES,
};

/** AlimTalk and FriendTalk bodies are limited in characters (1,000), not bytes. */
export const KAKAO_MAX_CHARS = 1000;

/** A text too long for its channel as the carrier counts it. */
export function exceedsTextLimit(channel: Channel, text: string): boolean {
  const limit = TEXT_LIMIT_BYTES[channel];
  // A string's UTF-16 length bounds its CP949 length from below by half; skip counting short ones.
  return limit !== undefined && text.length * 2 > limit && carrierByteLength(text) > limit;
}

/**
 * Kakao results its send API answers at once (no KakaoTalk account, the channel blocked, a
 * template not registered), and after which the same message goes on as SMS/LMS.
 */
export const KAKAO_FALLBACK_RESULTS: ReadonlySet<ResultCode> = new Set([
  ResultCode.NOT_KAKAO_USER,
  ResultCode.KAKAO_BLOCKED,
  ResultCode.TEMPLATE_MISMATCH,
]);

const KAKAO = new Set(CARRIER_CHANNELS.kakao);

/** Whether `result` on `channel` sends the message on to the campaign's next fallback step. */
export const isFallbackResult = (channel: Channel, result: ResultCode): boolean =>
  KAKAO.has(channel) && KAKAO_FALLBACK_RESULTS.has(result);
