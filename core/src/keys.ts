// Campaign data keys: generation, wrapping under a key-encryption key (KEK), and a
// keyring. Wrapped blobs are envelope frames whose key id is the KEK id, so a blob says
// which KEK can unwrap it without trying them all.
import { randomBytes, randomFillSync } from 'node:crypto';
import { DATA_KEY_BYTES, DataKey, KeyError, type KeyLookup } from './data-key.ts';
import { EnvelopeError, contextAad, frameKeyId, open, seal } from './envelope.ts';

export { DATA_KEY_BYTES, DataKey, KeyError, MAX_KEY_ID_BYTES } from './data-key.ts';
export type { KeyErrorReason, KeyLookup } from './data-key.ts';

/** A fresh random data key with id `<idPrefix>-<16 hex chars>`. */
export function generateDataKey(idPrefix: string): DataKey {
  // Buffer.alloc (not a pooled slice) so destroy() wipes the only copy we made.
  const material = Buffer.alloc(DATA_KEY_BYTES);
  randomFillSync(material);
  return new DataKey(`${idPrefix}-${randomBytes(8).toString('hex')}`, material);
}

/**
 * What a KMS answered when it destroyed a campaign's wrapping key: cited by the destruction
 * certificate. Ids, names and times only.
 */
export interface KekDestruction {
  /** The provider's id (the KEK id in the wrapped blobs). */
  kekId: string;
  /** The service and version, e.g. `OpenBao v2.7.2 transit`. */
  kms: string;
  /** The key's name in the KMS. */
  keyName: string;
  /** The KMS's own answers, e.g. `DELETE transit/keys/… → 204; GET → 404`. */
  answer: string;
  /** When the KMS confirmed the key no longer exists. */
  destroyedAt: string;
}

/**
 * A key-encryption key. Implementations: LocalKekProvider and NamespaceKekProvider (raw
 * bytes from a Secret: development only, since every copy of the Secret opens every copy of
 * a wrapped key) and @anshim/kms's TransitKekProvider (a key per campaign in OpenBao/Vault).
 */
export interface KeyEncryptionKeyProvider {
  readonly id: string;
  /**
   * Returns a self-describing wrapped blob (KEK id, data key id and material), bound to the
   * campaign it is the key of: it unwraps for that campaign id only.
   */
  wrap(dataKey: DataKey, campaignId: string): Promise<Buffer>;
  /** Fails (`unwrap-failed`) for a blob wrapped for another campaign, e.g. copied into its Secret. */
  unwrap(wrapped: Uint8Array, campaignId: string): Promise<DataKey>;
  /**
   * Providers that keep a key per campaign destroy it where it lives and answer only once the
   * KMS confirms it is gone (KeyError `kms-unavailable` until then). Providers without one
   * (local KEKs) have nothing per campaign to destroy.
   */
  destroyCampaignKek?(campaignId: string): Promise<KekDestruction>;
  /** Such providers also say whether the campaign's key still exists (`campaign-key-destroyed`, `kms-unavailable`). */
  checkCampaignKek?(campaignId: string): Promise<void>;
}

/**
 * A wrapped blob whose body is another service's ciphertext (a KMS's), framed like an envelope
 * (version | kekIdLength | kekId | payload) so `wrappedKekId` names its provider.
 */
export function kekFrame(kekId: string, payload: Uint8Array): Buffer {
  const id = Buffer.from(kekId, 'utf8');
  if (id.length === 0 || id.length > 255) throw new KeyError('invalid-key-id', 'KEK id must be 1–255 bytes');
  return Buffer.concat([Buffer.from([1, id.length]), id, payload]);
}

/** The payload of a `kekFrame`. */
export function kekFramePayload(frame: Uint8Array): Buffer {
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buf.length < 3 || buf[0] !== 1 || buf.length <= 2 + buf[1]!) throw new KeyError('unwrap-failed', 'malformed');
  return buf.subarray(2 + buf[1]!);
}

/**
 * What every provider wraps: material(32) | data key id (utf8), so an unwrapped key knows its id.
 * The caller wipes the buffer.
 */
export function wrappedPlaintext(dataKey: DataKey): Buffer {
  if (dataKey.destroyed) throw new KeyError('invalid-key', 'destroyed');
  const plain = Buffer.alloc(DATA_KEY_BYTES + Buffer.byteLength(dataKey.id, 'utf8'));
  dataKey.material.copy(plain, 0);
  plain.write(dataKey.id, DATA_KEY_BYTES, 'utf8');
  return plain;
}

/** The data key in an unwrapped plaintext; wipes the plaintext. */
export function dataKeyFromPlaintext(plain: Buffer): DataKey {
  if (plain.length <= DATA_KEY_BYTES) {
    plain.fill(0);
    throw new KeyError('unwrap-failed', 'malformed');
  }
  const material = Buffer.alloc(DATA_KEY_BYTES);
  plain.copy(material, 0, 0, DATA_KEY_BYTES);
  const id = plain.toString('utf8', DATA_KEY_BYTES);
  plain.fill(0);
  return new DataKey(id, material);
}

// Wrapped plaintext: material(32) | data key id (utf8). The AAD ties it to this use and to its
// campaign, so a tenant who copies another campaign's wrapped key into its own Secret opens nothing.
const wrapAad = (campaignId: string) => contextAad('anshim-dek-wrap', 'v2', campaignId);

export class LocalKekProvider implements KeyEncryptionKeyProvider {
  readonly #kek: DataKey;

  /** `material` must be 32 random bytes; it is copied, so the caller can wipe theirs. */
  constructor(id: string, material: Uint8Array) {
    if (material.length !== DATA_KEY_BYTES)
      throw new KeyError('invalid-key-material', `KEK must be ${DATA_KEY_BYTES} bytes`);
    const copy = Buffer.alloc(DATA_KEY_BYTES);
    copy.set(material);
    this.#kek = new DataKey(id, copy);
  }

  get id(): string {
    return this.#kek.id;
  }

  async wrap(dataKey: DataKey, campaignId: string): Promise<Buffer> {
    const plain = wrappedPlaintext(dataKey);
    try {
      return seal(this.#kek, plain, wrapAad(campaignId));
    } finally {
      plain.fill(0);
    }
  }

  async unwrap(wrapped: Uint8Array, campaignId: string): Promise<DataKey> {
    let plain: Buffer;
    try {
      plain = open(this.#kek, wrapped, wrapAad(campaignId));
    } catch (err) {
      if (err instanceof EnvelopeError && err.reason === 'unknown-key')
        throw new KeyError('unknown-kek', `wrapped under ${err.keyId}`);
      throw new KeyError('unwrap-failed', err instanceof EnvelopeError ? err.reason : undefined);
    }
    return dataKeyFromPlaintext(plain);
  }

  /** Wipes the KEK from this process. */
  destroy(): void {
    this.#kek.destroy();
  }
}

/** The KEK id recorded in a wrapped blob. */
export function wrappedKekId(wrapped: Uint8Array): string {
  return frameKeyId(wrapped);
}

/** Unwraps with whichever of several providers (e.g. during KEK rotation) wrapped the blob. */
export function unwrapDataKey(
  providers: readonly KeyEncryptionKeyProvider[],
  wrapped: Uint8Array,
  campaignId: string,
): Promise<DataKey> {
  const kekId = wrappedKekId(wrapped);
  const provider = providers.find((p) => p.id === kekId);
  if (provider === undefined) return Promise.reject(new KeyError('unknown-kek', `wrapped under ${kekId}`));
  return provider.unwrap(wrapped, campaignId);
}

/**
 * Key id → data key. Destroyed keys stay as tombstones so a late frame fails with
 * `key-destroyed` (shredded on purpose) rather than `unknown-key` (misrouted).
 */
export class Keyring implements KeyLookup {
  readonly #keys = new Map<string, DataKey>();

  constructor(keys: Iterable<DataKey> = []) {
    for (const key of keys) this.add(key);
  }

  add(key: DataKey): this {
    const existing = this.#keys.get(key.id);
    if (existing !== undefined && existing !== key) {
      // Same id, different bytes would make frames ambiguous; a destroyed id stays dead.
      if (existing.destroyed || !existing.material.equals(key.material))
        throw new KeyError('invalid-key-id', `duplicate key id ${key.id}`);
    }
    this.#keys.set(key.id, existing ?? key);
    return this;
  }

  lookup(keyId: string): DataKey | undefined {
    return this.#keys.get(keyId);
  }

  has(keyId: string): boolean {
    const key = this.#keys.get(keyId);
    return key !== undefined && !key.destroyed;
  }

  /** Crypto-shreds one key. Returns false if the id was never in the ring. */
  destroy(keyId: string): boolean {
    const key = this.#keys.get(keyId);
    key?.destroy();
    return key !== undefined;
  }

  destroyAll(): void {
    for (const key of this.#keys.values()) key.destroy();
  }

  /** Ids of live (not destroyed) keys. */
  ids(): string[] {
    return [...this.#keys.values()].filter((k) => !k.destroyed).map((k) => k.id);
  }
}
