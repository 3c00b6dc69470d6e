// Record ids are pseudonyms: an HMAC of the normalised number under a key derived from the
// campaign's data key. The same number always gets the same id within a campaign, so a
// re-upload produces the same ids and the carrier's idempotency dedupes them; across
// campaigns the ids are unlinkable, and shredding the data key shreds the mapping too.
import { createHmac, createSecretKey, hkdfSync, randomUUID, type KeyObject } from 'node:crypto';
import type { DataKey } from '@anshim/core';

const SALT = Buffer.from('anshim-gateway-record-id-v1');
const ID_BYTES = 16;

export class RecordIds {
  readonly #key: KeyObject;

  /** `dataKey` should be the campaign's oldest live key, so ids survive a key rotation. */
  constructor(dataKey: DataKey, campaignId: string) {
    const derived = Buffer.from(hkdfSync('sha256', dataKey.material, SALT, `record-id\u001f${campaignId}`, 32));
    this.#key = createSecretKey(derived);
    derived.fill(0);
  }

  /** The id of a spreadsheet recipient: one per number per campaign. */
  forRecipient(national: string): string {
    return 'r-' + this.mac('recipient', national);
  }

  /**
   * The id of a single API message. With the client's request id, a retried request gets the
   * same id (and is deduped); without one, every message is new (two OTPs to one number).
   */
  forMessage(national: string, requestId: string | undefined): string {
    return requestId === undefined ? 'm-' + randomUUID() : 'm-' + this.mac('message', requestId, national);
  }

  private mac(...parts: string[]): string {
    return createHmac('sha256', this.#key)
      .update(parts.join('\u001f'))
      .digest()
      .subarray(0, ID_BYTES)
      .toString('base64url');
  }
}
