import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateDataKey, LocalKekProvider, MemoryKeyStore, sealCampaignRecord } from '@anshim/core';
import { issueCertificate, type DestructionCertificate } from './certificate.ts';
import { proveShredded, shredSampleFromCampaignRecord } from './shred-proof.ts';
import { signingKeyId } from './signing-key.ts';
import { sampleCertificateInput } from './test-fixtures.ts';

const CAMPAIGN = 'emart.weekend-promo';

async function sealedCampaign() {
  const store = new MemoryKeyStore(new LocalKekProvider('kek-1', randomBytes(32)));
  const keyId = await store.ensure(CAMPAIGN);
  const [key] = await store.open(CAMPAIGN);
  const records = ['r1', 'r2', 'r3'].map((id, i) =>
    sealCampaignRecord(key!, CAMPAIGN, id, { phone: `0102345678${i}`, name: '김민수', vars: { store: '강남점' } }),
  );
  key!.destroy();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const certificate: DestructionCertificate = issueCertificate(
    { ...sampleCertificateInput(), campaign: CAMPAIGN, keyIdsDestroyed: [keyId] },
    { privateKey, keyId: signingKeyId(publicKey) },
  ).certificate;
  return { store, keyId, certificate, samples: records.map(shredSampleFromCampaignRecord) };
}

test('before the key is destroyed the proof fails: the store yields the key and it opens the records', async () => {
  const { store, keyId, certificate, samples } = await sealedCampaign();
  const report = await proveShredded({ certificate, store, samples });
  assert.equal(report.holds, false);
  assert.equal(report.storeAnswer, 'keys-available');
  assert.deepEqual(report.keysAvailable, [keyId]);
  assert.deepEqual(
    report.samples.map((s) => [s.sample, s.opened, s.certified]),
    [
      ['record r1', true, true],
      ['record r2', true, true],
      ['record r3', true, true],
    ],
  );
  assert.deepEqual([...new Set(report.problems.map((p) => p.kind))], ['store-not-destroyed', 'sample-opened']);
  assert.doesNotMatch(JSON.stringify(report), /0102345678|김민수/);
});

test('after destruction the proof holds: the store answers campaign-key-destroyed and no key opens a record', async () => {
  const { store, certificate, samples } = await sealedCampaign();
  await store.ensure('emart.other');
  await store.destroy(CAMPAIGN);
  const report = await proveShredded({ certificate, store, samples, alsoTryCampaigns: ['emart.other'] });
  assert.deepEqual(report.problems, []);
  assert.equal(report.holds, true);
  assert.equal(report.storeAnswer, 'campaign-key-destroyed');
  assert.equal(report.keysAvailable.length, 1, 'the other campaign key was tried');
  assert.ok(report.samples.every((s) => !s.opened && s.keysTried === 1 && s.certified));
});

test('samples under a key the certificate does not list, malformed samples and no samples are problems', async () => {
  const { store, certificate, samples } = await sealedCampaign();
  await store.destroy(CAMPAIGN);
  const stray = sealCampaignRecord(generateDataKey('elsewhere'), CAMPAIGN, 'r9', { phone: '01023456789' });
  const report = await proveShredded({
    certificate,
    store,
    samples: [...samples, shredSampleFromCampaignRecord(stray), { frame: Buffer.from([9, 9]), aad: null }],
  });
  assert.equal(report.holds, false);
  assert.deepEqual(
    report.problems.map((p) => [p.kind, p.sample]),
    [
      ['sample-key-not-certified', 'record r9'],
      ['malformed-sample', 'sample 5'],
    ],
  );
  const empty = await proveShredded({ certificate, store, samples: [] });
  assert.deepEqual(
    empty.problems.map((p) => p.kind),
    ['no-samples'],
  );
  const unknown = await proveShredded({ certificate: { ...certificate, campaign: 'never.seen' }, store, samples });
  assert.equal(unknown.storeAnswer, 'no-campaign-key');
  assert.equal(unknown.holds, false);
});
