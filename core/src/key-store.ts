// Where campaign data keys live between processes. The operator creates a campaign's key
// when it provisions the campaign and destroys it at the end (crypto-shredding); the
// gateway seals with it and the workers open with it. Only wrapped keys are ever stored.
import type { DataKey, KekDestruction } from './keys.ts';
import { KeyError, generateDataKey, unwrapDataKey, type KeyEncryptionKeyProvider } from './keys.ts';

export interface CampaignKeyStore {
  /** Creates the campaign's data key if it has none (idempotent); returns the live key's id. */
  ensure(campaignId: string): Promise<string>;
  /**
   * The campaign's live data keys, unwrapped into memory (the caller destroys them when done).
   * Throws KeyError `no-campaign-key` if none was ever created, `campaign-key-destroyed` after destruction.
   */
  open(campaignId: string): Promise<DataKey[]>;
  /**
   * Crypto-shreds every key of the campaign: first its wrapping key in the KMS (when the KEK
   * provider keeps one per campaign), then the stored blobs, leaving a tombstone. Idempotent.
   */
  destroy(campaignId: string): Promise<DestroyedKeys>;
}

/** What a destruction destroyed: the data key ids, and what the KMS answered for each wrapping key. */
export interface DestroyedKeys {
  keyIds: string[];
  kms: KekDestruction[];
}

/** The stored form of one campaign's keys: wrapped blobs, or a tombstone once destroyed. */
export interface StoredCampaignKeys {
  wrapped: Buffer[];
  destroyedAt?: string;
  destroyedKeyIds?: string[];
  kmsDestructions?: KekDestruction[];
}

/** Unwraps with the matching KEK; shared by every store so the error cases read the same. */
export async function openStoredKeys(
  campaignId: string,
  stored: StoredCampaignKeys | undefined,
  keks: readonly KeyEncryptionKeyProvider[],
): Promise<DataKey[]> {
  if (!stored) throw new KeyError('no-campaign-key', campaignId);
  if (stored.destroyedAt) throw new KeyError('campaign-key-destroyed', `${campaignId} at ${stored.destroyedAt}`);
  return Promise.all(stored.wrapped.map((w) => unwrapDataKey(keks, w, campaignId)));
}

/** An in-process store for unit tests and single-process tools; the operator's lives in Kubernetes Secrets. */
export class MemoryKeyStore implements CampaignKeyStore {
  private readonly stored = new Map<string, StoredCampaignKeys & { ids: string[] }>();

  constructor(private readonly kek: KeyEncryptionKeyProvider) {}

  async ensure(campaignId: string): Promise<string> {
    const existing = this.stored.get(campaignId);
    if (existing?.destroyedAt) throw new KeyError('campaign-key-destroyed', campaignId);
    if (existing?.ids[0]) return existing.ids[0];
    const key = generateDataKey(campaignId);
    try {
      this.stored.set(campaignId, { wrapped: [await this.kek.wrap(key, campaignId)], ids: [key.id] });
      return key.id;
    } finally {
      key.destroy();
    }
  }

  open(campaignId: string): Promise<DataKey[]> {
    return openStoredKeys(campaignId, this.stored.get(campaignId), [this.kek]);
  }

  async destroy(campaignId: string): Promise<DestroyedKeys> {
    const s = this.stored.get(campaignId);
    if (!s) return { keyIds: [], kms: [] };
    if (s.destroyedAt) return { keyIds: s.destroyedKeyIds ?? [], kms: s.kmsDestructions ?? [] };
    const kms = this.kek.destroyCampaignKek ? [await this.kek.destroyCampaignKek(campaignId)] : [];
    this.stored.set(campaignId, {
      wrapped: [],
      ids: [],
      destroyedAt: new Date().toISOString(),
      destroyedKeyIds: s.ids,
      kmsDestructions: kms,
    });
    return { keyIds: s.ids, kms };
  }
}
