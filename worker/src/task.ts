// The piscina task: runs in the pool's threads. One call prepares a batch of records.
import { Piscina } from 'piscina';
import { DataKey, SimulatedPortabilityDirectory, type CarrierId } from '@anshim/core';
import type { CampaignSpec } from './campaign.ts';
import { HeldUntil, prepareMessage, PrepareError, type PrepareFailure, type PreparedMessage } from './prepare.ts';

export interface KeyMaterial {
  id: string;
  material: Uint8Array;
}

export interface PrepareTaskInput {
  campaign: CampaignSpec;
  campaignKeys: KeyMaterial[];
  carrierKeys: Array<KeyMaterial & { carrier: CarrierId }>;
  portabilitySeed: string;
  /** The records back to back in one transferred buffer (see packFrames), so no fetch buffer is cloned. */
  records: PackedFrames;
  /** Fallback step per record (0 = the campaign's primary channel); absent means all 0. */
  steps?: number[];
  now: number;
  optOutKey?: Uint8Array;
}

export interface PackedFrames {
  bytes: Uint8Array;
  lengths: number[];
}

export type PreparedSlot = Omit<PreparedMessage, 'frame'> & { index: number };

export interface PrepareTaskOutput {
  /** Prepared messages in order; their frames are back to back in `frames`. */
  prepared: PreparedSlot[];
  frames: PackedFrames;
  failed: Array<{ index: number; reason: PrepareFailure; detail: string }>;
  /** Records that must wait (night window): index and the time they may go. */
  held: Array<{ index: number; untilMs: number }>;
}

/**
 * Copies frames into one buffer with its own ArrayBuffer, ready to transfer to another
 * thread. Structured clone of a Buffer would copy its whole backing store: for a Kafka
 * record that is the entire fetch response, for a protobuf frame an 8 KiB pool slab.
 */
export function packFrames(frames: readonly Uint8Array[]): PackedFrames {
  let total = 0;
  for (const f of frames) total += f.length;
  const bytes = new Uint8Array(total);
  const lengths = new Array<number>(frames.length);
  let at = 0;
  frames.forEach((f, i) => {
    bytes.set(f, at);
    at += f.length;
    lengths[i] = f.length;
  });
  return { bytes, lengths };
}

export function unpackFrames(packed: PackedFrames): Uint8Array[] {
  const out = new Array<Uint8Array>(packed.lengths.length);
  let at = 0;
  packed.lengths.forEach((n, i) => {
    out[i] = packed.bytes.subarray(at, at + n);
    at += n;
  });
  return out;
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
    optOutKey: input.optOutKey,
  };
  const prepared: PreparedSlot[] = [];
  const frames: Uint8Array[] = [];
  const failed: PrepareTaskOutput['failed'] = [];
  const held: PrepareTaskOutput['held'] = [];
  unpackFrames(input.records).forEach((value, index) => {
    try {
      const { frame, ...slot } = prepareMessage(value, ctx, input.steps?.[index] ?? 0);
      prepared.push({ ...slot, index });
      frames.push(frame);
    } catch (err) {
      if (err instanceof HeldUntil) held.push({ index, untilMs: err.untilMs });
      else if (err instanceof PrepareError) failed.push({ index, reason: err.reason, detail: err.message });
      else
        failed.push({ index, reason: 'malformed-record', detail: err instanceof Error ? err.name : 'unknown error' });
    }
  });
  const out: PrepareTaskOutput = { prepared, frames: packFrames(frames), failed, held };
  // Hand the frames' buffer over to the main thread instead of copying it.
  const movable = { [Piscina.transferableSymbol]: out.frames.bytes.buffer, [Piscina.valueSymbol]: out };
  return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]) as unknown as PrepareTaskOutput;
}
