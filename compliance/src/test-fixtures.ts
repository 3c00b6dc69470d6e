// Shared by this package's tests: a realistic certificate input (counts and ids, no personal data).
import type { AuditEntry } from './audit-entry.ts';
import type { CertificateInput } from './certificate.ts';

export const sampleCertificateInput = (): CertificateInput => ({
  campaign: 'emart.weekend-promo',
  keyIdsDestroyed: ['emart.weekend-promo-9f86d081884c7d65'],
  kmsDestructions: [
    {
      kekId: 'transit:transit',
      kms: 'transit engine at /transit (server 2.7.2)',
      keyName: 'campaign.emart.weekend-promo',
      answer:
        'POST transit/keys/campaign.emart.weekend-promo/config → 200; DELETE transit/keys/campaign.emart.weekend-promo → 204; GET transit/keys/campaign.emart.weekend-promo → 404 (no such key)',
      destroyedAt: '2025-03-08T09:14:00.400Z',
    },
  ],
  counts: { delivered: 98_211, 'handset-off': 912, 'no-such-number': 377, 'spam-blocked': 12, expired: 3 },
  completedAt: '2025-03-08T09:12:30.000Z',
  destroyedAt: '2025-03-08T09:14:00.500Z',
  topicsDeleted: ['anshim.campaign.emart.weekend-promo.bulk'],
  auditHeads: [{ chain: 'operator', seq: 42, hash: 'c'.repeat(64) }],
  issuer: 'anshim-operator@idc-seoul',
  issuedAt: '2025-03-08T09:14:01.000Z',
});

let fixtureSeq = 0;

/** An audit entry for rule tests (rules read fields, not hashes). `time` is UTC ISO. */
export function entryAt(time: string, fields: Partial<AuditEntry> & Pick<AuditEntry, 'action'>): AuditEntry {
  return {
    chain: 'test',
    seq: ++fixtureSeq,
    time,
    actor: 'staff:u-1',
    subject: 'ns.promo',
    details: {},
    prevHash: '0'.repeat(64),
    hash: '0'.repeat(64),
    ...fields,
  };
}

/** `count` entries one `stepMs` apart from `start`. */
export function entriesEvery(
  start: string,
  stepMs: number,
  count: number,
  fields: Partial<AuditEntry> & Pick<AuditEntry, 'action'>,
): AuditEntry[] {
  return Array.from({ length: count }, (_, i) =>
    entryAt(new Date(Date.parse(start) + i * stepMs).toISOString(), fields),
  );
}
