import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { AuditChain } from './audit-chain.ts';
import { issueCertificate } from './certificate.ts';
import { FileAuditStore } from './file-audit-store.ts';
import { loadOrCreateSigningKey } from './signing-key.ts';
import { sampleCertificateInput } from './test-fixtures.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'anshim-cli-'));
const file = (name: string) => join(dir, name);
after(() => rm(dir, { recursive: true, force: true }));

/** Runs the CLI as an auditor would; the cases of a test run side by side to keep the suite fast. */
function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

before(async () => {
  const store = await FileAuditStore.open(file('audit.jsonl'));
  const chain = await AuditChain.open(store, 'operator');
  for (const to of ['Running', 'Completed', 'Destroyed'])
    await chain.append({
      actor: 'system:operator',
      action: 'campaign-transition',
      subject: 'ns.p',
      details: { from: 'x', to },
    });
  await store.close();
  const key = await loadOrCreateSigningKey(file('signing.pem'));
  const cited = issueCertificate({ ...sampleCertificateInput(), auditHeads: [chain.head] }, key);
  await writeFile(file('cert.json'), JSON.stringify(cited, null, 2));
  const tampered = structuredClone(cited);
  tampered.certificate.counts.delivered = 1;
  await writeFile(file('tampered-cert.json'), JSON.stringify(tampered));
  const beyond = issueCertificate({ ...sampleCertificateInput(), auditHeads: [{ ...chain.head, seq: 9 }] }, key);
  await writeFile(file('beyond-cert.json'), JSON.stringify(beyond));
  const lines = (await readFile(file('audit.jsonl'), 'utf8')).split('\n');
  lines[1] = lines[1]!.replace('Completed', 'Cancelled');
  await writeFile(file('edited.jsonl'), lines.join('\n'));
});

test('verify-certificate: 0 and a readable summary when valid, 1 when altered, 2 when the key is missing', async () => {
  const [ok, bad, noKey] = await Promise.all([
    cli('verify-certificate', file('cert.json'), '--public-key', file('signing.pub.pem')),
    cli('verify-certificate', file('tampered-cert.json'), '--public-key', file('signing.pub.pem'), '--json'),
    cli('verify-certificate', file('cert.json'), '--public-key', file('absent.pem')),
  ]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /campaign\s+emart\.weekend-promo/);
  assert.match(ok.out, /^VERIFIED/m);

  assert.equal(bad.code, 1);
  assert.deepEqual(
    (JSON.parse(bad.out) as { problems: { kind: string }[] }).problems.map((p) => p.kind),
    ['bad-signature'],
  );

  assert.equal(noKey.code, 2);
  assert.match(noKey.err, /absent\.pem: ENOENT/);
});

test('verify-audit: 0 for an intact log, 1 naming the seq of an edit or a cut tail, 2 for unreadable input', async () => {
  const [ok, edited, cut, missing, badHead] = await Promise.all([
    cli('verify-audit', file('audit.jsonl'), '--certificate', file('cert.json')),
    cli('verify-audit', file('edited.jsonl')),
    cli('verify-audit', file('audit.jsonl'), '--certificate', file('beyond-cert.json')),
    cli('verify-audit', file('missing.jsonl')),
    cli('verify-audit', file('audit.jsonl'), '--expect-head', 'operator:3:nothex'),
  ]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /operator\s+3 entries\s+head seq 3 .* ok/);

  assert.equal(edited.code, 1);
  assert.match(edited.out, /✗ seq 2 \(line 2\) hash-mismatch/);
  assert.match(edited.out, /^NOT VERIFIED: 1 issue$/m);

  assert.equal(cut.code, 1);
  assert.match(cut.out, /seq 4 truncated: ends at entry 3 but is cited up to entry 9/);

  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read audit log .*missing\.jsonl: ENOENT/);
  assert.equal(badHead.code, 2);
  assert.match(badHead.err, /expected <chain>:<seq>:<64 hex hash>/);
});
