// The Korean carriers' message length: bytes in EUC-KR/CP949, where ASCII is 1 byte and
// a Hangul syllable 2. SMS holds 90 such bytes, LMS/MMS text 2,000.
//
// Characters CP949 cannot encode (emoji, most accented Latin, half-width kana …) are
// counted as 1 byte: gateways transcode to CP949 and substitute '?', which is what
// iconv-lite does too. An emoji (one code point, two UTF-16 units) is one '?'.
import iconv from 'iconv-lite';

export const SMS_MAX_BYTES = 90;
export const LMS_MAX_BYTES = 2000;
/** MMS text shares the LMS limit. */
export const MMS_MAX_BYTES = LMS_MAX_BYTES;

export type TextChannel = 'SMS' | 'LMS' | 'MMS';

export class MessageTooLongError extends Error {
  override readonly name = 'MessageTooLongError';
  readonly reason = 'message-too-long';
  constructor(
    readonly byteLength: number,
    readonly limit: number,
  ) {
    super(`message-too-long: ${byteLength} bytes exceeds ${limit}`);
  }
}

// Per-UTF-16-unit cost table for the slow path, filled lazily from iconv-lite:
// 0 = not yet known, 1 / 2 = bytes, UNENCODABLE = becomes '?' (1 byte).
const UNKNOWN = 0;
const UNENCODABLE = 3;
const costs = new Uint8Array(0x10000);

function costOf(unit: number): number {
  let cost = costs[unit] as number;
  if (cost === UNKNOWN) {
    const ch = String.fromCharCode(unit);
    const encoded = iconv.encode(ch, 'cp949');
    // iconv-lite substitutes '?' for what it cannot encode; a real '?' is ASCII (fast path).
    cost = encoded.length === 1 && encoded[0] === 0x3f ? UNENCODABLE : encoded.length;
    costs[unit] = cost;
  }
  return cost;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function measure(text: string): { bytes: number; unencodable: number } {
  let bytes = 0;
  let unencodable = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit >= 0xac00 && unit <= 0xd7a3)
      bytes += 2; // Hangul syllables: all 11,172 are in CP949
    else if (isHighSurrogate(unit)) {
      // Astral characters (emoji) are never in CP949: one '?' for the pair.
      if (i + 1 < n && isLowSurrogate(text.charCodeAt(i + 1))) i++;
      bytes += 1;
      unencodable++;
    } else {
      const cost = costOf(unit);
      if (cost === UNENCODABLE) {
        bytes += 1;
        unencodable++;
      } else bytes += cost;
    }
  }
  return { bytes, unencodable };
}

/** The byte count a Korean carrier charges and limits by (EUC-KR/CP949). */
export function carrierByteLength(text: string): number {
  return measure(text).bytes;
}

/** How many characters would reach the handset as '?' (worth warning the sender about). */
export function countUnencodable(text: string): number {
  return measure(text).unencodable;
}

/** SMS up to 90 bytes, else LMS up to 2,000; with an image always MMS (text up to 2,000). */
export function chooseTextChannel(text: string, hasImage = false): TextChannel {
  const bytes = carrierByteLength(text);
  if (hasImage) {
    if (bytes > MMS_MAX_BYTES) throw new MessageTooLongError(bytes, MMS_MAX_BYTES);
    return 'MMS';
  }
  if (bytes <= SMS_MAX_BYTES) return 'SMS';
  if (bytes <= LMS_MAX_BYTES) return 'LMS';
  throw new MessageTooLongError(bytes, LMS_MAX_BYTES);
}
