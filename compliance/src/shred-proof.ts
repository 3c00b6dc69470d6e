// The shred proof: evidence, for an auditor, that the records a destruction certificate
// covers cannot be opened any more. Given surviving sealed records (a backup, a replica, a
// record left in a topic), we ask the key store for the campaign's keys (it must answer
// `campaign-key-destroyed`) and try every key it can still produce on every sample.
import { DataKey, EnvelopeError, frameKeyId, KeyError, open, recordAad, type CampaignKeyStore } from '@anshim/core';
import { CampaignRecord } from '@anshim/proto';
import type { DestructionCertificate } from './certificate.ts';

/** One surviving sealed frame and the AAD it was sealed with (null: sealed without AAD). */
export interface ShredSample {
  frame: Uint8Array;
  /** Without the right AAD a failed open proves nothing, so it must be given. */
  aad: Uint8Array | null;
  /** An id to report the sample by (a record id), never its content. */
  label?: string;
}

export type StoreAnswer =
  /** The store holds a tombstone for the campaign: what a completed destruction leaves. */
  | 'campaign-key-destroyed'
  /** The store still yields keys for the campaign. */
  | 'keys-available'
  /** The store never heard of the campaign: no tombstone, so no evidence of destruction. */
  | 'no-campaign-key'
  | 'store-error';

export type ShredProblemKind =
  'store-not-destroyed' | 'sample-opened' | 'sample-key-not-certified' | 'malformed-sample' | 'no-samples';

export interface ShredProblem {
  kind: ShredProblemKind;
  sample?: string;
  reason: string;
}

export interface ShredSampleResult {
  sample: string;
  keyId?: string;
  /** The frame's key id is among the certificate's destroyed keys. */
  certified: boolean;
  /** How many keys were tried on it, each under the frame's key id so a renamed copy would still open it. */
  keysTried: number;
  opened: boolean;
}

export interface ShredProofReport {
  campaign: string;
  /** True only if the store answered `campaign-key-destroyed`, every sample is certified, and none opened. */
  holds: boolean;
  storeAnswer: StoreAnswer;
  /** Ids of keys the store still produced (for the campaign and any others asked about). */
  keysAvailable: string[];
  samples: ShredSampleResult[];
  problems: ShredProblem[];
  checkedAt: string;
}

export interface ShredProofInput {
  certificate: DestructionCertificate;
  store: CampaignKeyStore;
  samples: readonly ShredSample[];
  /**
   * Other campaigns whose live keys should also be tried (a destroyed key's material copied
   * under another campaign would open the samples although the tombstone is in place).
   */
  alsoTryCampaigns?: readonly string[];
  now?: () => Date;
}

/** A sample from a campaign record as it sits in Kafka (or a backup of it): its sealed recipient and AAD. */
export function shredSampleFromCampaignRecord(value: Uint8Array): ShredSample {
  const record = CampaignRecord.decode(value);
  return {
    frame: record.sealedRecipient,
    aad: recordAad(record.campaignId, record.recordId),
    label: `record ${record.recordId}`,
  };
}

async function keysOf(
  store: CampaignKeyStore,
  campaign: string,
): Promise<{ answer: StoreAnswer; keys: DataKey[]; detail?: string }> {
  try {
    return { answer: 'keys-available', keys: await store.open(campaign) };
  } catch (err) {
    if (err instanceof KeyError && err.reason === 'campaign-key-destroyed')
      return { answer: 'campaign-key-destroyed', keys: [] };
    if (err instanceof KeyError && err.reason === 'no-campaign-key') return { answer: 'no-campaign-key', keys: [] };
    return { answer: 'store-error', keys: [], detail: err instanceof Error ? err.name : 'error' };
  }
}

/** Whether `material` opens `sample`, whatever id the store filed it under. */
function opensWith(material: Buffer, keyId: string, sample: ShredSample): boolean {
  const copy = Buffer.alloc(material.length);
  material.copy(copy);
  const probe = new DataKey(keyId, copy);
  try {
    open(probe, sample.frame, sample.aad ?? undefined).fill(0);
    return true;
  } catch (err) {
    if (err instanceof EnvelopeError) return false;
    throw err;
  } finally {
    probe.destroy();
  }
}

/** Never calls `store.destroy` or `ensure`: proving must not change what it proves. */
export async function proveShredded(input: ShredProofInput): Promise<ShredProofReport> {
  const { certificate, store, samples } = input;
  const problems: ShredProblem[] = [];
  const own = await keysOf(store, certificate.campaign);
  const others = await Promise.all((input.alsoTryCampaigns ?? []).map((c) => keysOf(store, c)));
  const keys = [...own.keys, ...others.flatMap((o) => o.keys)];
  try {
    if (own.answer !== 'campaign-key-destroyed')
      problems.push({
        kind: 'store-not-destroyed',
        reason: `the key store answered ${own.answer}${own.detail ? ` (${own.detail})` : ''} for ${certificate.campaign}, not campaign-key-destroyed`,
      });
    if (samples.length === 0)
      problems.push({ kind: 'no-samples', reason: 'no surviving records were given to try the keys on' });

    const certified = new Set(certificate.keyIdsDestroyed);
    const results: ShredSampleResult[] = samples.map((sample, i) => {
      const label = sample.label ?? `sample ${i + 1}`;
      let keyId: string;
      try {
        keyId = frameKeyId(sample.frame);
      } catch {
        problems.push({ kind: 'malformed-sample', sample: label, reason: 'not an envelope frame' });
        return { sample: label, certified: false, keysTried: 0, opened: false };
      }
      const isCertified = certified.has(keyId);
      if (!isCertified)
        problems.push({
          kind: 'sample-key-not-certified',
          sample: label,
          reason: `sealed under ${keyId}, which the certificate does not list as destroyed`,
        });
      const opened = keys.some((k) => opensWith(k.material, keyId, sample));
      if (opened)
        problems.push({ kind: 'sample-opened', sample: label, reason: 'a key the store still produces opens it' });
      return { sample: label, keyId, certified: isCertified, keysTried: keys.length, opened };
    });

    return {
      campaign: certificate.campaign,
      holds: problems.length === 0,
      storeAnswer: own.answer,
      keysAvailable: keys.map((k) => k.id),
      samples: results,
      problems,
      checkedAt: (input.now?.() ?? new Date()).toISOString(),
    };
  } finally {
    for (const k of keys) k.destroy();
  }
}
