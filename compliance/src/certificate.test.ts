import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CertificateError,
  certificateDigest,
  issueCertificate,
  verifyCertificate,
  type SignedDestructionCertificate,
} from './certificate.ts';
import { PersonalDataError } from './personal-data.ts';
import { sampleCertificateInput } from './test-fixtures.ts';
import { loadOrCreateSigningKey, loadPublicKey, SigningKeyError, signingKeyId } from './signing-key.ts';

const dir = await mkdtemp(join(tmpdir(), 'anshim-cert-'));
after(() => rm(dir, { recursive: true, force: true }));

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: signingKeyId(publicKey) };
};

test('an issued certificate verifies, with the completion-to-destruction time computed', () => {
  const key = keyPair();
  const signed = issueCertificate(sampleCertificateInput(), key);
  assert.equal(signed.certificate.completionToDestructionSeconds, 90.5);
  assert.match(signed.certificate.certificateId, /^[0-9a-f-]{36}$/);
  const parsed: unknown = JSON.parse(JSON.stringify(signed));
  const result = verifyCertificate(parsed, key.publicKey);
  assert.deepEqual(result.problems, []);
  assert.equal(result.ok, true);
  assert.equal(result.certificate?.campaign, 'emart.weekend-promo');
  assert.match(certificateDigest(signed), /^[0-9a-f]{64}$/);
});

test('a certificate altered after signing, or checked with another key, is refused with the reason', () => {
  const key = keyPair();
  const signed = issueCertificate(sampleCertificateInput(), key);
  const tampered: SignedDestructionCertificate = structuredClone(signed);
  tampered.certificate.counts.delivered = 99_000;
  assert.deepEqual(
    verifyCertificate(tampered, key.publicKey).problems.map((p) => p.kind),
    ['bad-signature'],
  );
  const reordered = structuredClone(signed);
  reordered.certificate.keyIdsDestroyed = [...signed.certificate.keyIdsDestroyed, 'other-key'];
  assert.equal(verifyCertificate(reordered, key.publicKey).ok, false);
  const other = keyPair();
  assert.deepEqual(
    verifyCertificate(signed, other.publicKey).problems.map((p) => p.kind),
    ['wrong-key'],
  );
  const forged = structuredClone(signed);
  forged.signature.keyId = other.keyId;
  assert.deepEqual(
    verifyCertificate(forged, other.publicKey).problems.map((p) => p.kind),
    ['bad-signature'],
  );
});

test('schema and consistency problems are named by field', () => {
  const key = keyPair();
  const signed = issueCertificate(sampleCertificateInput(), key);
  const broken = structuredClone(signed) as unknown as { certificate: Record<string, unknown> };
  broken.certificate.completionToDestructionSeconds = 1;
  broken.certificate.recipients = ['x'];
  delete broken.certificate.issuer;
  const fields = verifyCertificate(broken, key.publicKey).problems.map((p) => `${p.kind}:${p.field ?? ''}`);
  assert.deepEqual(fields.sort(), [
    'bad-signature:signature.value',
    'inconsistent:certificate.completionToDestructionSeconds',
    'schema:certificate.issuer',
    'schema:certificate.recipients',
  ]);
  assert.throws(
    () => issueCertificate({ ...sampleCertificateInput(), destroyedAt: '2025-03-08T09:00:00.000Z' }, key),
    (e: unknown) =>
      e instanceof CertificateError &&
      e.problems.some((p) => p.field === 'certificate.destroyedAt') &&
      // The KMS confirmed the key gone after the moment the certificate says it was destroyed.
      e.problems.some((p) => p.field === 'certificate.kmsDestructions[0]' && p.kind === 'inconsistent'),
  );
  assert.throws(
    () =>
      issueCertificate(
        {
          ...sampleCertificateInput(),
          kmsDestructions: [{ ...sampleCertificateInput().kmsDestructions[0]!, answer: '' }],
        },
        key,
      ),
    (e: unknown) => e instanceof CertificateError && e.problems[0]?.field === 'certificate.kmsDestructions[0]',
  );
  assert.throws(
    () => issueCertificate({ ...sampleCertificateInput(), counts: { delivered: -1 } }, key),
    CertificateError,
  );
});

test('a certificate refuses phone-like content, when issued and when verified', () => {
  const key = keyPair();
  assert.throws(
    () => issueCertificate({ ...sampleCertificateInput(), issuer: 'ops 010-2345-6789' }, key),
    (e: unknown) => e instanceof PersonalDataError && e.path === 'certificate.issuer' && !e.message.includes('6789'),
  );
  const signed = issueCertificate(sampleCertificateInput(), key);
  const leaked = structuredClone(signed);
  leaked.certificate.topicsDeleted.push('anshim.campaign.01023456789');
  const kinds = verifyCertificate(leaked, key.publicKey).problems.map((p) => p.kind);
  assert.deepEqual(kinds, ['personal-data', 'bad-signature']);
});

test('the signing key is generated once (0600), then loaded; a mismatched public file is refused', async () => {
  const file = join(dir, 'keys', 'signing.pem');
  const first = await loadOrCreateSigningKey(file);
  assert.equal(first.created, true);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const again = await loadOrCreateSigningKey(file);
  assert.equal(again.created, false);
  assert.equal(again.keyId, first.keyId);
  const publicKey = await loadPublicKey(join(dir, 'keys', 'signing.pub.pem'));
  assert.equal(verifyCertificate(issueCertificate(sampleCertificateInput(), again), publicKey).ok, true);

  const otherPublic = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
  await writeFile(join(dir, 'keys', 'signing.pub.pem'), otherPublic);
  await assert.rejects(
    loadOrCreateSigningKey(file),
    (e: unknown) => e instanceof SigningKeyError && e.reason === 'pair-mismatch',
  );

  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
  await writeFile(join(dir, 'rsa.pem'), rsa);
  await assert.rejects(
    loadPublicKey(join(dir, 'rsa.pem')),
    (e: unknown) => e instanceof SigningKeyError && e.reason === 'not-ed25519',
  );
  assert.match(await readFile(file, 'utf8'), /BEGIN PRIVATE KEY/);
});
