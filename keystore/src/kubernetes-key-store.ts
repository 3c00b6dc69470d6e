import * as k8s from '@kubernetes/client-node';
import {
  KeyError,
  generateDataKey,
  openStoredKeys,
  unwrapDataKey,
  wrappedKekId,
  type CampaignKeyStore,
  type DataKey,
  type DestroyedKeys,
  type KekDestruction,
  type KeyEncryptionKeyProvider,
} from '@anshim/core';
import { CAMPAIGN_LABEL, campaignRefOf, keySecretName } from '@anshim/api';

const DESTROYED_AT = 'messaging.anshim.io/destroyed-at';
const DESTROYED_KEYS = 'messaging.anshim.io/destroyed-key-ids';
const KEY_ID = 'messaging.anshim.io/key-id';
/** What the KMS answered when it destroyed the campaign's wrapping key (JSON). */
const KMS_DESTRUCTION = 'messaging.anshim.io/kms-destruction';

/** The wrapped blobs a key Secret holds (`wrapped`, and `wrapped-*` of older keys). */
const wrappedBlobs = (secret: k8s.V1Secret | undefined): Buffer[] =>
  Object.entries(secret?.data ?? {})
    .filter(([k]) => k.startsWith('wrapped'))
    .map(([, v]) => Buffer.from(v, 'base64'));

/** The KEKs (by id) the Secret's blobs were wrapped under: whose KMS keys shredding destroys. */
const kekIdsOf = (secret: k8s.V1Secret): Set<string> => new Set(wrappedBlobs(secret).map(wrappedKekId));

/**
 * Campaign data keys in Kubernetes Secrets, one per campaign in its namespace, holding only
 * the key wrapped under the fleet's key-encryption key. Destruction empties the Secret and
 * leaves a tombstone (annotations: when, which key ids), so a late reader learns the key was
 * shredded on purpose. An etcd backup taken before destruction still holds the wrapped key, so
 * with a KMS provider (a key per campaign) destruction first deletes that key in the KMS: every
 * earlier copy of the Secret is then inert. A KMS that does not answer fails the destruction
 * (KeyError `kms-unavailable`) with the Secret untouched, for the caller to retry.
 */
export class KubernetesKeyStore implements CampaignKeyStore {
  private readonly core: k8s.CoreV1Api;

  private readonly cache = new Map<string, { at: number; secret: Promise<k8s.V1Secret | undefined> }>();

  /**
   * `readCacheMs` lets a busy reader (the gateway's message API) reuse a Secret it read moments
   * ago for `open`; ensure and destroy always read afresh.
   */
  constructor(
    kc: k8s.KubeConfig,
    private readonly keks: readonly KeyEncryptionKeyProvider[],
    private readonly readCacheMs = 0,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  private cachedRead(campaignId: string): Promise<k8s.V1Secret | undefined> {
    if (this.readCacheMs <= 0) return this.read(campaignId);
    const hit = this.cache.get(campaignId);
    if (hit && Date.now() - hit.at < this.readCacheMs) return hit.secret;
    const secret = this.read(campaignId);
    this.cache.set(campaignId, { at: Date.now(), secret });
    secret.catch(() => this.cache.delete(campaignId));
    return secret;
  }

  private async read(campaignId: string): Promise<k8s.V1Secret | undefined> {
    const { namespace, name } = campaignRefOf(campaignId);
    try {
      return await this.core.readNamespacedSecret({ namespace, name: keySecretName(name) });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async ensure(campaignId: string, owner?: k8s.V1OwnerReference): Promise<string> {
    const existing = await this.read(campaignId);
    if (existing?.metadata?.annotations?.[DESTROYED_AT]) throw new KeyError('campaign-key-destroyed', campaignId);
    const existingId = existing?.metadata?.annotations?.[KEY_ID];
    if (existing && existingId) {
      await this.rewrapIfStale(existing, campaignId);
      await this.checkKms(existing, campaignId);
      return existingId;
    }
    const kek = this.keks[0];
    if (!kek) throw new KeyError('unknown-kek', 'no key-encryption key configured');
    const { namespace, name } = campaignRefOf(campaignId);
    const key = generateDataKey(campaignId);
    try {
      const wrapped = await kek.wrap(key, campaignId);
      await this.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name: keySecretName(name),
            labels: { [CAMPAIGN_LABEL]: name, 'app.kubernetes.io/managed-by': 'anshim-operator' },
            annotations: { [KEY_ID]: key.id },
            ownerReferences: owner ? [owner] : undefined,
          },
          type: 'messaging.anshim.io/wrapped-data-key',
          data: { wrapped: wrapped.toString('base64') },
        },
      });
      return key.id;
    } catch (err) {
      // Two writers raced: the first Secret wins, and its key is the campaign's.
      if ((err as { code?: number }).code === 409) return this.ensure(campaignId, owner);
      throw err;
    } finally {
      key.destroy();
    }
  }

  /**
   * KEK rotation without re-sealing any record: a data key wrapped under an older KEK (still
   * configured as a previous one) is unwrapped and wrapped again under the current KEK, in one
   * replace guarded by the Secret's resourceVersion. The records, sealed with the data key, stay as they are.
   */
  private async rewrapIfStale(secret: k8s.V1Secret, campaignId: string): Promise<boolean> {
    const current = this.keks[0];
    const entries = Object.entries(secret.data ?? {}).filter(([k]) => k.startsWith('wrapped'));
    if (!current || entries.every(([, v]) => wrappedKekId(Buffer.from(v, 'base64')) === current.id)) return false;
    const data: Record<string, string> = {};
    for (const [k, v] of entries) {
      const key = await unwrapDataKey(this.keks, Buffer.from(v, 'base64'), campaignId);
      try {
        data[k] = (await current.wrap(key, campaignId)).toString('base64');
      } finally {
        key.destroy();
      }
    }
    await this.core.replaceNamespacedSecret({
      namespace: secret.metadata!.namespace!,
      name: secret.metadata!.name!,
      body: { metadata: secret.metadata, type: secret.type, data },
    });
    return true;
  }

  /**
   * Asks the KMS that holds the campaign's wrapping key whether it still does: KeyError
   * `campaign-key-destroyed` if someone destroyed it there, `kms-unavailable` if it cannot say.
   */
  private async checkKms(secret: k8s.V1Secret, campaignId: string): Promise<void> {
    const kekIds = kekIdsOf(secret);
    for (const kek of this.keks) if (kek.checkCampaignKek && kekIds.has(kek.id)) await kek.checkCampaignKek(campaignId);
  }

  /** The wrapped blobs, for a worker's configuration (never unwrapped by the operator for that). */
  async wrapped(campaignId: string): Promise<Buffer[]> {
    const secret = await this.read(campaignId);
    if (!secret) throw new KeyError('no-campaign-key', campaignId);
    if (secret.metadata?.annotations?.[DESTROYED_AT]) throw new KeyError('campaign-key-destroyed', campaignId);
    return wrappedBlobs(secret);
  }

  async open(campaignId: string): Promise<DataKey[]> {
    const secret = await this.cachedRead(campaignId);
    const annotations = secret?.metadata?.annotations ?? {};
    return openStoredKeys(
      campaignId,
      secret && {
        wrapped: wrappedBlobs(secret),
        destroyedAt: annotations[DESTROYED_AT],
      },
      this.keks,
    );
  }

  async destroy(campaignId: string): Promise<DestroyedKeys> {
    const secret = await this.read(campaignId);
    if (!secret) return { keyIds: [], kms: [] };
    const annotations = secret.metadata?.annotations ?? {};
    if (annotations[DESTROYED_AT])
      return {
        keyIds: (annotations[DESTROYED_KEYS] ?? '').split(',').filter(Boolean),
        kms: annotations[KMS_DESTRUCTION] ? (JSON.parse(annotations[KMS_DESTRUCTION]) as KekDestruction[]) : [],
      };
    const ids = [annotations[KEY_ID]].filter((id): id is string => Boolean(id));
    // The KMS first: until it confirms, the Secret keeps its key, so nothing is half-destroyed.
    const kekIds = kekIdsOf(secret);
    const kms: KekDestruction[] = [];
    for (const kek of this.keks) {
      if (kek.destroyCampaignKek && kekIds.has(kek.id)) kms.push(await kek.destroyCampaignKek(campaignId));
    }
    const { namespace, name } = campaignRefOf(campaignId);
    // Replace (not patch) with the resourceVersion we read: the wrapped key is gone in one write.
    await this.core.replaceNamespacedSecret({
      namespace,
      name: keySecretName(name),
      body: {
        metadata: {
          ...secret.metadata,
          annotations: {
            ...annotations,
            [DESTROYED_AT]: new Date().toISOString(),
            [DESTROYED_KEYS]: ids.join(','),
            ...(kms.length > 0 ? { [KMS_DESTRUCTION]: JSON.stringify(kms) } : {}),
          },
        },
        type: secret.type,
        data: {},
      },
    });
    return { keyIds: ids, kms };
  }
}
