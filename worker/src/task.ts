// The piscina task: runs in the pool's threads. One call prepares a batch of records.
import { DataKey, SimulatedPortabilityDirectory, type CarrierId } from '@anshim/core';
import type { CampaignSpec } from './campaign.ts';
import { prepareMessage, PrepareError, type PrepareFailure, type PreparedMessage } from './prepare.ts';

export interface KeyMaterial {
  id: string;
  material: Uint8Array;
}

export interface PrepareTaskInput {
  campaign: CampaignSpec;
  campaignKeys: KeyMaterial[];
  carrierKeys: Array<KeyMaterial & { carrier: CarrierId }>;
  portabilitySeed: string;
  records: Uint8Array[];
  /** Fallback step per record (0 = the campaign's primary channel); absent means all 0. */
  steps?: number[];
  now: number;
}

export interface PrepareTaskOutput {
  prepared: Array<PreparedMessage & { index: number }>;
  failed: Array<{ index: number; reason: PrepareFailure; detail: string }>;
}

// Keys stay imported in the thread between tasks; a key the main thread no longer sends
// (destroyed, rotated out) is wiped here too.
const keyCache = new Map<string, DataKey>();
const directories = new Map<string, SimulatedPortabilityDirectory>();

function syncKeys(wanted: KeyMaterial[]): Map<string, DataKey> {
  const ids = new Set(wanted.map((k) => k.id));
  for (const [id, key] of keyCache) {
    if (!ids.has(id)) {
      key.destroy();
      keyCache.delete(id);
    }
  }
  for (const k of wanted) {
    if (!keyCache.has(k.id)) keyCache.set(k.id, new DataKey(k.id, Buffer.from(k.material)));
  }
  return keyCache;
}

export default function prepareBatch(input: PrepareTaskInput): PrepareTaskOutput {
  const keys = syncKeys([...input.campaignKeys, ...input.carrierKeys]);
  const carrierKeys: Partial<Record<CarrierId, DataKey>> = {};
  for (const k of input.carrierKeys) carrierKeys[k.carrier] = keys.get(k.id);
  let portability = directories.get(input.portabilitySeed);
  if (!portability)
    directories.set(input.portabilitySeed, (portability = new SimulatedPortabilityDirectory(input.portabilitySeed)));
  const ctx = {
    campaign: input.campaign,
    campaignKeys: { lookup: (id: string) => keys.get(id) },
    carrierKeys,
    portability,
    now: input.now,
  };
  const out: PrepareTaskOutput = { prepared: [], failed: [] };
  input.records.forEach((value, index) => {
    try {
      out.prepared.push({ ...prepareMessage(value, ctx, input.steps?.[index] ?? 0), index });
    } catch (err) {
      if (err instanceof PrepareError) out.failed.push({ index, reason: err.reason, detail: err.message });
      else
        out.failed.push({
          index,
          reason: 'malformed-record',
          detail: err instanceof Error ? err.name : 'unknown error',
        });
    }
  });
  return out;
}
