// The progress record: a worker's counters for one campaign on the compacted progress topic.
import { ProgressRecord, RECORD_SCHEMA_VERSION } from '@anshim/proto';

/** Counters a worker keeps per campaign; the operator sums them over workers to show progress. */
export interface CampaignProgress {
  campaignId: string;
  workerId: string;
  /** Accepted by a carrier (first attempts and fallbacks). */
  sent: number;
  /** The carrier had already accepted this idempotency key (a replay after a crash). */
  duplicates: number;
  /** Final results by ResultCode name, from carrier reports and from rejections. */
  results: Record<string, number>;
  fellBack: number;
  deadLettered: Record<string, number>;
  /** Moved to the hold topic for the night window (not final: they are sent in the morning). */
  held: number;
  updatedAt: number;
}

/** The compaction key: the latest record per (campaign, worker) survives. */
export const progressKey = (p: Pick<CampaignProgress, 'campaignId' | 'workerId'>): string =>
  `${p.campaignId}/${p.workerId}`;

/** The inverse of progressKey (undefined for a key that is not one). */
export function parseProgressKey(key: string): { campaignId: string; workerId: string } | undefined {
  const slash = key.lastIndexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { campaignId: key.slice(0, slash), workerId: key.slice(slash + 1) };
}

export function encodeProgress(p: CampaignProgress): Buffer {
  const bytes = ProgressRecord.encode({
    schemaVersion: RECORD_SCHEMA_VERSION,
    campaignId: p.campaignId,
    workerId: p.workerId,
    sent: p.sent,
    duplicates: p.duplicates,
    results: p.results,
    fellBack: p.fellBack,
    deadLettered: p.deadLettered,
    held: p.held,
    updatedAtMs: p.updatedAt,
  }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class ProgressRecordError extends Error {
  override readonly name = 'ProgressRecordError';
}

/**
 * Reads a progress record. Workers before ProgressRecord wrote JSON; a compacted topic keeps
 * such a record until that worker writes again, so it is still read (a protobuf record never
 * starts with `{`: its first byte is field 1's tag, 0x08).
 */
export function decodeProgress(value: Uint8Array): CampaignProgress {
  if (value[0] === 0x7b) {
    try {
      return JSON.parse(Buffer.from(value).toString('utf8')) as CampaignProgress;
    } catch {
      throw new ProgressRecordError('unreadable progress record (neither ProgressRecord nor JSON)');
    }
  }
  let r: ProgressRecord;
  try {
    r = ProgressRecord.decode(value);
  } catch (err) {
    throw new ProgressRecordError(`unreadable progress record: ${(err as Error).message}`);
  }
  return {
    campaignId: r.campaignId,
    workerId: r.workerId,
    sent: Number(r.sent),
    duplicates: Number(r.duplicates),
    results: Object.fromEntries(Object.entries(r.results).map(([k, v]) => [k, Number(v)])),
    fellBack: Number(r.fellBack),
    deadLettered: Object.fromEntries(Object.entries(r.deadLettered).map(([k, v]) => [k, Number(v)])),
    held: Number(r.held),
    updatedAt: Number(r.updatedAtMs),
  };
}
