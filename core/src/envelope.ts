// AES-256-GCM envelope. Frame layout (all of it travels through Kafka and gRPC):
//   version(1) | keyIdLength(1) | keyId(utf8) | nonce(12) | ciphertext | tag(16)
// Hot path (five seals and opens per message between gateway, worker and carrier): one
// output allocation per seal, subarray views instead of copies on open, pooled nonce bytes,
// and a key schedule per key on the native engine (aead.ts); node:crypto is the fallback.
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { aeadBinding } from './aead.ts';
import { DataKey, type KeyLookup } from './data-key.ts';

export const ENVELOPE_VERSION = 1;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const CIPHER = 'aes-256-gcm';

export type EnvelopeErrorReason = 'malformed' | 'unknown-key' | 'auth-failed' | 'key-destroyed';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly reason: EnvelopeErrorReason,
    /** The frame's key id, when it could be read (key ids are not personal data). */
    readonly keyId?: string,
  ) {
    super(keyId === undefined ? `envelope: ${reason}` : `envelope: ${reason} (key ${keyId})`);
  }
}

// Random 96-bit nonces drawn from a pooled buffer: one randomFillSync per 4096 seals
// instead of one per seal. Each thread has its own module instance, hence its own pool.
const NONCE_POOL_BYTES = NONCE_BYTES * 4096;
const noncePool = Buffer.allocUnsafeSlow(NONCE_POOL_BYTES);
let noncePoolOffset = NONCE_POOL_BYTES;

function writeNonce(target: Buffer, offset: number): void {
  if (noncePoolOffset === NONCE_POOL_BYTES) {
    randomFillSync(noncePool);
    noncePoolOffset = 0;
  }
  noncePool.copy(target, offset, noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
}

// version | keyIdLength | keyId, cached per key: the key id never changes.
const headers = new WeakMap<DataKey, Buffer>();

function headerFor(key: DataKey): Buffer {
  let header = headers.get(key);
  if (header === undefined) {
    const id = Buffer.from(key.id, 'utf8');
    header = Buffer.allocUnsafeSlow(2 + id.length);
    header[0] = ENVELOPE_VERSION;
    header[1] = id.length;
    id.copy(header, 2);
    headers.set(key, header);
  }
  return header;
}

/** Bytes of the frame that seals `plaintextLength` bytes under `key`. */
export function sealedLength(key: DataKey, plaintextLength: number): number {
  return headerFor(key).length + NONCE_BYTES + plaintextLength + TAG_BYTES;
}

/**
 * Additional authenticated data: bytes, or text (see contextAadText) that is written into
 * a scratch buffer here instead of allocating one per message on the hot path.
 */
export type Aad = Uint8Array | string;

let aadScratch = Buffer.allocUnsafeSlow(512);

function aadBytes(aad: Aad): Uint8Array {
  if (typeof aad !== 'string') return aad;
  const max = aad.length * 3;
  if (max > aadScratch.length) aadScratch = Buffer.allocUnsafeSlow(Math.max(max, aadScratch.length * 2));
  // setAAD copies it straight away, so one scratch buffer serves every call.
  return aadScratch.subarray(0, aadScratch.write(aad, 0, 'utf8'));
}

/**
 * Seals `plaintext` under `key`. `aad` binds the frame to its context (see contextAad):
 * a frame moved to another record or campaign fails to open.
 */
export function seal(key: DataKey, plaintext: Uint8Array, aad?: Aad): Buffer {
  const frame = Buffer.allocUnsafe(sealedLength(key, plaintext.length));
  sealInto(key, plaintext, aad, frame, 0);
  return frame;
}

/**
 * Seals into `target` at `offset` (sealedLength(key, plaintext.length) bytes), so an
 * encoder can place the frame inside a larger message without a copy. Returns the length.
 */
export function sealInto(
  key: DataKey,
  plaintext: Uint8Array,
  aad: Aad | undefined,
  target: Buffer,
  offset: number,
): number {
  if (key.destroyed) throw new EnvelopeError('key-destroyed', key.id);
  const header = headerFor(key);
  const nonceAt = offset + header.length;
  const bodyAt = nonceAt + NONCE_BYTES;
  header.copy(target, offset);
  writeNonce(target, nonceAt);
  if (aeadBinding) {
    const nonce = target.subarray(nonceAt, bodyAt);
    const aadView = aad === undefined ? undefined : aadBytes(aad);
    return bodyAt - offset + aeadBinding.seal(key.keySchedule(), nonce, aadView, plaintext, target, bodyAt);
  }
  const cipher = createCipheriv(CIPHER, key.keyObject(), target.subarray(nonceAt, bodyAt), {
    authTagLength: TAG_BYTES,
  });
  if (aad !== undefined) cipher.setAAD(aadBytes(aad));
  let at = bodyAt + cipher.update(plaintext).copy(target, bodyAt);
  at += cipher.final().copy(target, at);
  at += cipher.getAuthTag().copy(target, at);
  return at - offset;
}

interface ParsedFrame {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function parseFrame(frame: Uint8Array): ParsedFrame {
  const buf = asBuffer(frame);
  if (buf.length < 2 || buf[0] !== ENVELOPE_VERSION) throw new EnvelopeError('malformed');
  const idEnd = 2 + (buf[1] as number);
  const bodyAt = idEnd + NONCE_BYTES;
  if (buf[1] === 0 || buf.length < bodyAt + TAG_BYTES) throw new EnvelopeError('malformed');
  const tagAt = buf.length - TAG_BYTES;
  return {
    keyId: buf.toString('utf8', 2, idEnd),
    nonce: buf.subarray(idEnd, bodyAt),
    ciphertext: buf.subarray(bodyAt, tagAt),
    tag: buf.subarray(tagAt),
  };
}

/** The id of the key a frame was sealed with, without decrypting. */
export function frameKeyId(frame: Uint8Array): string {
  return parseFrame(frame).keyId;
}

/** Opens a frame with one key, or with whichever key a keyring holds for the frame's key id. */
export function open(keys: DataKey | KeyLookup, frame: Uint8Array, aad?: Aad): Buffer {
  const { keyId, nonce, ciphertext, tag } = parseFrame(frame);
  const key = keys instanceof DataKey ? (keys.id === keyId ? keys : undefined) : keys.lookup(keyId);
  if (key === undefined) throw new EnvelopeError('unknown-key', keyId);
  if (key.destroyed) throw new EnvelopeError('key-destroyed', keyId);
  if (aeadBinding) {
    const plaintext = Buffer.allocUnsafe(ciphertext.length);
    const aadView = aad === undefined ? undefined : aadBytes(aad);
    if (!aeadBinding.open(key.keySchedule(), nonce, aadView, ciphertext, tag, plaintext))
      throw new EnvelopeError('auth-failed', keyId);
    return plaintext;
  }
  const decipher = createDecipheriv(CIPHER, key.keyObject(), nonce, { authTagLength: TAG_BYTES });
  if (aad !== undefined) decipher.setAAD(aadBytes(aad));
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    plaintext.fill(0); // unauthenticated output must not linger
    throw new EnvelopeError('auth-failed', keyId);
  }
  return plaintext;
}

const AAD_SEPARATOR = '\u001f';

/**
 * Builds AAD from context parts (e.g. 'campaign-record', campaignId, recordId). The unit
 * separator keeps ('ab','c') and ('a','bc') distinct.
 */
export function contextAad(...parts: string[]): Buffer {
  return Buffer.from(contextAadText(...parts), 'utf8');
}

/** contextAad as text, for seal and open to encode without an allocation. */
export function contextAadText(...parts: string[]): string {
  return parts.join(AAD_SEPARATOR);
}
