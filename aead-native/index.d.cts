/** An opaque per-key OpenSSL context pair (seal and open); freed by release() or GC. */
export type KeySchedule = { readonly __keySchedule: unique symbol };

export interface AeadBinding {
  schedule(key: Uint8Array): KeySchedule;
  release(schedule: KeySchedule): void;
  /** Writes ciphertext then the 16-byte tag at target[offset]; returns plaintext.length + 16. */
  seal(
    schedule: KeySchedule,
    nonce: Uint8Array,
    aad: Uint8Array | undefined,
    plaintext: Uint8Array,
    target: Uint8Array,
    offset: number,
  ): number;
  /** false when the tag does not verify; target's first ciphertext.length bytes are then zero. */
  open(
    schedule: KeySchedule,
    nonce: Uint8Array,
    aad: Uint8Array | undefined,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    target: Uint8Array,
  ): boolean;
}

export const binding: AeadBinding | null;
export const loadError: string | null;
