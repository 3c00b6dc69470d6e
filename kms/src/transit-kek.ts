// Each campaign's data key wrapped under a key of its own in OpenBao's (Vault's) transit engine,
// and that key deleted there at shredding. Every copy of the wrapped data key — the Secret's
// earlier revisions in etcd, an etcd snapshot, a cluster backup, the peer cluster's copy — is
// then inert: the only key that opened it is gone from the one place it lived, and transit keys
// are never exportable (the platform never held their material).
//
// Why transit and not an AWS-KMS API: a transit key is deleted at once and for good (`DELETE`,
// then `GET` answers 404); AWS KMS only schedules deletion 7–30 days out, cancellably, so a
// certificate issued at shredding could not say the key is gone.
import {
  dataKeyFromPlaintext,
  KeyError,
  wrappedPlaintext,
  type DataKey,
  kekFrame,
  kekFramePayload,
  type KekDestruction,
  type KeyEncryptionKeyProvider,
} from '@anshim/core';
import { KmsError, type TransitClient } from './transit-client.ts';

/** The transit key of one campaign: `campaign.<namespace>.<name>`; policies match per namespace. */
export const transitKeyName = (campaignId: string): string => `campaign.${campaignId}`;

/** The prefix of one namespace's campaign keys: a namespace has no dots, so `mart.` never matches `mart2.`. */
export const namespaceKeyPrefix = (namespace: string): string => `campaign.${namespace}.`;

export interface TransitKekOptions {
  client: TransitClient;
  /** The transit engine's mount path (default `transit`). */
  mount?: string;
  /** The KEK id written into every wrapped blob (default `transit:<mount>`). */
  id?: string;
}

const b64 = (b: Uint8Array | string): string => Buffer.from(b as Uint8Array).toString('base64');

/** Maps what the KMS said to what a key store's caller acts on. */
function keyErrorOf(err: unknown, campaignId: string): unknown {
  if (!(err instanceof KmsError)) return err;
  switch (err.reason) {
    case 'unavailable':
      return new KeyError('kms-unavailable', err.message);
    case 'not-found':
      return new KeyError('campaign-key-destroyed', `${campaignId}: its key is not in the KMS`);
    default:
      return new KeyError('unwrap-failed', err.message);
  }
}

export class TransitKekProvider implements KeyEncryptionKeyProvider {
  readonly id: string;
  readonly mount: string;
  readonly client: TransitClient;
  readonly #created = new Set<string>();

  constructor(opts: TransitKekOptions) {
    this.client = opts.client;
    this.mount = opts.mount ?? 'transit';
    this.id = opts.id ?? `transit:${this.mount}`;
  }

  private path(op: string, campaignId: string): string {
    return `${this.mount}/${op}/${encodeURIComponent(transitKeyName(campaignId))}`;
  }

  /** Creates the campaign's transit key (idempotent: an existing key is left as it is). */
  async createCampaignKey(campaignId: string): Promise<void> {
    if (this.#created.has(campaignId)) return;
    await this.client.call('POST', this.path('keys', campaignId), { type: 'aes256-gcm96', exportable: false });
    this.#created.add(campaignId);
  }

  async wrap(dataKey: DataKey, campaignId: string): Promise<Buffer> {
    const plain = wrappedPlaintext(dataKey);
    try {
      await this.createCampaignKey(campaignId);
      const res = await this.client.call('POST', this.path('encrypt', campaignId), {
        plaintext: b64(plain),
        // Bound to its campaign as the local wrap is, though the key is the campaign's alone.
        associated_data: b64(campaignId),
      });
      const ciphertext = res.data?.ciphertext;
      if (typeof ciphertext !== 'string') throw new KeyError('unwrap-failed', 'the KMS returned no ciphertext');
      return kekFrame(this.id, Buffer.from(ciphertext, 'utf8'));
    } catch (err) {
      throw keyErrorOf(err, campaignId);
    } finally {
      plain.fill(0);
    }
  }

  async unwrap(wrapped: Uint8Array, campaignId: string): Promise<DataKey> {
    const ciphertext = kekFramePayload(wrapped).toString('utf8');
    let plaintext: string;
    try {
      const res = await this.client.call('POST', this.path('decrypt', campaignId), {
        ciphertext,
        associated_data: b64(campaignId),
      });
      const p = res.data?.plaintext;
      if (typeof p !== 'string') throw new KeyError('unwrap-failed', 'the KMS returned no plaintext');
      plaintext = p;
    } catch (err) {
      throw keyErrorOf(err, campaignId);
    }
    return dataKeyFromPlaintext(Buffer.from(plaintext, 'base64'));
  }

  /** True while the campaign's key exists in the KMS (KeyError `kms-unavailable` when it cannot say). */
  async campaignKeyExists(campaignId: string): Promise<boolean> {
    try {
      await this.client.call('GET', this.path('keys', campaignId));
      return true;
    } catch (err) {
      if (err instanceof KmsError && err.reason === 'not-found') return false;
      throw keyErrorOf(err, campaignId);
    }
  }

  async checkCampaignKek(campaignId: string): Promise<void> {
    if (!(await this.campaignKeyExists(campaignId)))
      throw new KeyError('campaign-key-destroyed', `${campaignId}: its key is not in the KMS`);
  }

  /**
   * Deletes the campaign's transit key: allow deletion, delete, then read it back — destroyed
   * only when the KMS answers that it no longer has it. Idempotent: a key deleted by an earlier
   * attempt (the operator crashed before recording it) is confirmed absent the same way.
   */
  async destroyCampaignKek(campaignId: string): Promise<KekDestruction> {
    const keyName = transitKeyName(campaignId);
    const answers: string[] = [];
    try {
      const health = await this.client.health();
      if (!health.ok)
        throw new KmsError('unavailable', 'GET sys/health', health.status, health.sealed ? 'sealed' : undefined);
      const step = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
        try {
          const res = await this.client.call(method, path, body);
          answers.push(`${method} ${path} → ${res.status}`);
        } catch (err) {
          if (!(err instanceof KmsError && err.reason === 'not-found')) throw err;
          answers.push(`${method} ${path} → ${err.status} (no such key)`);
        }
      };
      await step('POST', `${this.path('keys', campaignId)}/config`, { deletion_allowed: true });
      await step('DELETE', this.path('keys', campaignId));
      try {
        await this.client.call('GET', this.path('keys', campaignId));
        throw new KeyError('kms-unavailable', `${keyName} still exists after DELETE`);
      } catch (err) {
        if (!(err instanceof KmsError && err.reason === 'not-found')) throw err;
        answers.push(`GET ${this.path('keys', campaignId)} → ${err.status} (no such key)`);
      }
      this.#created.delete(campaignId);
      return {
        kekId: this.id,
        kms: `transit engine at /${this.mount} (server ${health.version ?? 'version unknown'})`,
        keyName,
        answer: answers.join('; '),
        destroyedAt: new Date().toISOString(),
      };
    } catch (err) {
      throw keyErrorOf(err, campaignId);
    }
  }
}
