// The DataKey holder lives in its own module so the envelope (which opens with it) and
// the key management (which wraps it with envelopes) do not import each other.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { KeySchedule } from '@anshim/aead-native';
import { aeadBinding } from './aead.ts';

export const DATA_KEY_BYTES = 32;
/** The frame stores the key id length in one byte. */
export const MAX_KEY_ID_BYTES = 255;

export type KeyErrorReason =
  | 'invalid-key-id'
  | 'invalid-key-material'
  | 'unknown-kek'
  | 'unwrap-failed'
  | 'invalid-key'
  /** The campaign never had a data key (not provisioned yet, or a wrong campaign id). */
  | 'no-campaign-key'
  /** The campaign's data key was crypto-shredded: its records can never be opened again. */
  | 'campaign-key-destroyed'
  /** The key-management service holding the campaign's wrapping key did not answer: retry later. */
  | 'kms-unavailable';

export class KeyError extends Error {
  override readonly name = 'KeyError';
  constructor(
    readonly reason: KeyErrorReason,
    detail?: string,
  ) {
    super(detail ? `key: ${reason} (${detail})` : `key: ${reason}`);
  }
}

/**
 * An AES-256 data key. `destroy()` zero-fills the material (crypto-shredding): every
 * later open with this key fails with `key-destroyed`.
 */
export class DataKey {
  readonly id: string;
  readonly material: Buffer;
  #keyObject: KeyObject | undefined;
  #schedule: KeySchedule | undefined;
  #destroyed = false;

  /** Takes ownership of `material` (not copied), so destroy() wipes the caller's buffer too. */
  constructor(id: string, material: Buffer) {
    if (id.length === 0 || Buffer.byteLength(id, 'utf8') > MAX_KEY_ID_BYTES) throw new KeyError('invalid-key-id');
    if (material.length !== DATA_KEY_BYTES)
      throw new KeyError('invalid-key-material', `expected ${DATA_KEY_BYTES} bytes`);
    this.id = id;
    this.material = material;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * A cached KeyObject: createCipheriv with a KeyObject skips re-importing raw bytes on
   * every call. OpenSSL holds its own copy, which destroy() releases to the GC.
   */
  keyObject(): KeyObject {
    if (this.#destroyed) throw new KeyError('invalid-key', 'destroyed');
    return (this.#keyObject ??= createSecretKey(this.material));
  }

  /**
   * The native engine's expanded key (see aead.ts), made once per key. Native memory the GC
   * cannot see, so destroy() frees it at once instead of leaving it to a finalizer.
   */
  keySchedule(): KeySchedule {
    if (this.#destroyed) throw new KeyError('invalid-key', 'destroyed');
    if (!aeadBinding) throw new KeyError('invalid-key', 'the native AEAD engine is not in use');
    return (this.#schedule ??= aeadBinding.schedule(this.material));
  }

  destroy(): void {
    this.material.fill(0);
    if (this.#schedule !== undefined) aeadBinding?.release(this.#schedule);
    this.#schedule = undefined;
    this.#keyObject = undefined;
    this.#destroyed = true;
  }

  /** Never let key bytes reach a log line or an error report by accident. */
  toJSON(): { id: string; destroyed: boolean } {
    return { id: this.id, destroyed: this.#destroyed };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DataKey(${this.id}${this.#destroyed ? ', destroyed' : ''})`;
  }
}

/** Anything that resolves a key id to a key (a Keyring, or a carrier key registry). */
export interface KeyLookup {
  lookup(keyId: string): DataKey | undefined;
}
