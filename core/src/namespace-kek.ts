// A key-encryption key per tenant namespace, derived from the platform's KEK: the operator and
// the gateway hold the platform KEK; a tenant namespace holds only its own derived KEK (the
// Secret its workers mount), so a tenant who reads its namespace's Secrets can unwrap its own
// campaigns' data keys and no other namespace's.
//
// Derived, not generated and stored: HKDF-SHA256 over the platform KEK with the namespace as
// info needs no second key store to keep, rotates with the platform KEK (KEK rotation re-wraps
// every campaign under the new KEK's namespace key), and the derivation is one-way, so a
// namespace KEK reveals neither the platform KEK nor a sibling's.
import { hkdfSync } from 'node:crypto';
import { DATA_KEY_BYTES, KeyError, type DataKey } from './data-key.ts';
import { LocalKekProvider, type KeyEncryptionKeyProvider } from './keys.ts';

const SALT = Buffer.from('anshim-namespace-kek', 'utf8');

/** The namespace part of a campaign id (`<namespace>.<name>`; a namespace is a DNS label, without dots). */
export function namespaceOfCampaign(campaignId: string): string {
  const dot = campaignId.indexOf('.');
  if (dot <= 0) throw new KeyError('invalid-key', `campaign id "${campaignId}" names no namespace`);
  return campaignId.slice(0, dot);
}

/** The namespace's KEK material: 32 bytes the caller wipes when done. */
export function deriveNamespaceKek(platformKek: Uint8Array, namespace: string): Buffer {
  if (!namespace) throw new KeyError('invalid-key', 'no namespace');
  return Buffer.from(hkdfSync('sha256', platformKek, SALT, Buffer.from(`v1:${namespace}`, 'utf8'), DATA_KEY_BYTES));
}

/**
 * Wraps and unwraps each campaign's data key under its namespace's KEK. Its id is the platform
 * KEK's, and so is each namespace KEK's: the id names the KEK version (rotation compares it),
 * the namespace picks the material.
 */
export class NamespaceKekProvider implements KeyEncryptionKeyProvider {
  readonly #platform: Buffer;
  readonly #byNamespace = new Map<string, LocalKekProvider>();

  /** `material` must be 32 random bytes; it is copied, so the caller can wipe theirs. */
  constructor(
    readonly id: string,
    material: Uint8Array,
  ) {
    if (material.length !== DATA_KEY_BYTES)
      throw new KeyError('invalid-key-material', `KEK must be ${DATA_KEY_BYTES} bytes`);
    this.#platform = Buffer.from(material);
  }

  /** What the namespace's KEK Secret holds (the operator writes it): wipe `material` after use. */
  namespaceKek(namespace: string): { id: string; material: Buffer } {
    return { id: this.id, material: deriveNamespaceKek(this.#platform, namespace) };
  }

  private forNamespace(namespace: string): LocalKekProvider {
    let kek = this.#byNamespace.get(namespace);
    if (!kek) {
      const material = deriveNamespaceKek(this.#platform, namespace);
      kek = new LocalKekProvider(this.id, material);
      material.fill(0);
      this.#byNamespace.set(namespace, kek);
    }
    return kek;
  }

  wrap(dataKey: DataKey, campaignId: string): Promise<Buffer> {
    return this.forNamespace(namespaceOfCampaign(campaignId)).wrap(dataKey, campaignId);
  }

  unwrap(wrapped: Uint8Array, campaignId: string): Promise<DataKey> {
    return this.forNamespace(namespaceOfCampaign(campaignId)).unwrap(wrapped, campaignId);
  }
}
