// The auditor's shredding check against the local stack's real OpenBao and etcd: a live key is
// caught (it exists, and the wrapped data key opens), a destroyed one passes; the CLI says the same.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateDataKey, kekFramePayload } from '@anshim/core';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { kmsRootToken, repoRoot, requireStack } from '@anshim/dev-platform';
import { issueCertificate } from './certificate.ts';
import { checkShredded, findTransitCiphertexts } from './shredded.ts';
import { signingKeyId } from './signing-key.ts';
import { sampleCertificateInput } from './test-fixtures.ts';

const generateSigningKey = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: signingKeyId(publicKey) };
};

test('verify-shredded: a certified key still in the KMS is caught, a destroyed one holds, for root too', async () => {
  const { kms } = requireStack();
  const campaign = `shredcheck${process.pid}${Date.now().toString(36)}.promo`;
  const operator = new TransitKekProvider({
    client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.operator }),
    mount: kms.mount,
  });
  const dek = generateDataKey(campaign);
  const wrapped = await operator.wrap(dek, campaign);
  // Evidence as a backup holds it: the wrapped key inside other bytes (here, a JSON dump of a Secret).
  const evidence = Buffer.from(
    JSON.stringify({ data: { wrapped: wrapped.toString('latin1') }, noise: 'x'.repeat(100) }),
    'latin1',
  );
  assert.deepEqual(findTransitCiphertexts(evidence), [kekFramePayload(wrapped).toString('utf8')]);
  const root = new TransitClient({ address: kms.address, token: kmsRootToken(kms) });
  const keyName = `campaign.${campaign}`;
  const certify = (answer: string) => ({
    ...sampleCertificateInput(),
    campaign,
    kmsDestructions: [{ ...sampleCertificateInput().kmsDestructions[0]!, keyName, answer }],
  });

  // A certificate issued while the key lives (a forged or premature one): NOT SHREDDED.
  const premature = await checkShredded(
    { ...issueCertificate(certify('claimed'), generateSigningKey()).certificate },
    root,
    [{ source: 'backup.json', bytes: evidence }],
    kms.mount,
  );
  assert.equal(premature.ok, false);
  assert.equal(premature.keys[0]!.gone, false);
  assert.equal(premature.attempts[0]!.opened, true, 'root opens the live wrapped key');

  const destruction = await operator.destroyCampaignKek(campaign);
  const key = generateSigningKey();
  const signed = issueCertificate(certify(destruction.answer), key);
  const after = await checkShredded(signed.certificate, root, [{ source: 'backup.json', bytes: evidence }], kms.mount);
  assert.equal(after.ok, true, JSON.stringify(after));
  assert.match(after.attempts[0]!.answer, /not-found|encryption key not found/);

  // The CLI, as an auditor runs it, with the auditor's token (reads key metadata, decrypts nothing).
  const dir = mkdtempSync(join(tmpdir(), 'anshim-shredded-'));
  writeFileSync(join(dir, 'certificate.json'), JSON.stringify(signed));
  writeFileSync(join(dir, 'key.pub.pem'), key.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'backup.json'), evidence);
  const cli = (extra: string[]) =>
    spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', 'compliance/src/cli.ts', 'verify-shredded', join(dir, 'certificate.json')],
        ...['--public-key', join(dir, 'key.pub.pem'), '--kms-address', kms.address],
        ...['--kms-token-file', kms.tokens.auditor, ...extra],
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
  const ok = cli(['--evidence', join(dir, 'backup.json')]);
  console.log(ok.stdout.trim());
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /SHREDDED: 1 KMS key\(s\) gone, 1 unwrap attempt\(s\) refused/);
  // Nothing to try is not a pass.
  writeFileSync(join(dir, 'empty.json'), '{}');
  const nothing = cli(['--evidence', join(dir, 'empty.json')]);
  assert.equal(nothing.status, 2, nothing.stdout);
  assert.match(nothing.stdout, /CANNOT CHECK: no wrapped data key found/);
});
