import {
  CampaignRecord,
  Priority,
  RecipientPayload,
  RECORD_SCHEMA_VERSION,
  type IRecipientPayload,
} from '@anshim/proto';
import { recordAad } from './carrier-payload.ts';
import type { DataKey } from './data-key.ts';
import { seal } from './envelope.ts';

/**
 * Seals one recipient into a Kafka campaign record. The gateway does this at the door; the
 * plaintext payload is encoded, sealed and wiped here, and only the sealed record leaves.
 */
export function sealCampaignRecord(
  key: DataKey,
  campaignId: string,
  recordId: string,
  recipient: IRecipientPayload,
  opts: { priority?: Priority; notBeforeMs?: number; enqueuedAtMs?: number } = {},
): Uint8Array {
  const plaintext = RecipientPayload.encode(recipient).finish();
  const sealedRecipient = seal(key, plaintext, recordAad(campaignId, recordId));
  plaintext.fill(0);
  return CampaignRecord.encode({
    schemaVersion: RECORD_SCHEMA_VERSION,
    recordId,
    campaignId,
    keyId: key.id,
    sealedRecipient,
    priority: opts.priority ?? Priority.BULK,
    enqueuedAtMs: opts.enqueuedAtMs ?? Date.now(),
    notBeforeMs: opts.notBeforeMs ?? 0,
  }).finish();
}
