import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@anshim/dev-platform';

test(
  'npm start runs the whole campaign: upload, delivery, shredding, a certificate that verifies',
  { timeout: 600_000 },
  () => {
    const run = spawnSync(process.execPath, [join(repoRoot, 'scripts/run.mjs'), 'start', '--exit-when-done'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 590_000,
    });
    const out = run.stdout + run.stderr;
    assert.equal(run.status, 0, out.slice(-3000));
    assert.match(out, /uploaded examples\/recipients\.xlsx: .*"accepted":1979/);
    const summary = /queued (\d+)\s+sent (\d+)\s+delivered (\d+)\s+failed (\d+)\s+fell back to SMS\/LMS (\d+)/.exec(
      out,
    );
    assert.ok(summary, out.slice(-3000));
    const [queued, , delivered, failed, fellBack] = summary.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    assert.equal(queued, 1979);
    assert.equal(delivered + failed, queued, 'every message has a final outcome');
    assert.ok(fellBack > 0, 'non-Kakao users fell back to SMS/LMS');
    assert.match(out, /weekend-promo: Destroyed/);
    const cert = /Destruction certificate: (\S+)/.exec(out)?.[1];
    const key = /--public-key (\S+)/.exec(out)?.[1];
    assert.ok(cert && existsSync(cert) && key);
    const verify = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'compliance/src/cli.ts', 'verify-certificate', cert, '--public-key', key],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    // The campaign's own key in the KMS is gone: the printed auditor's check, run as printed.
    assert.match(out, /in the KMS: campaign\.\S+\.weekend-promo destroyed at /);
    const shredded = /shredded: node (.+)$/m.exec(out)?.[1]?.split(' ');
    assert.ok(shredded, out);
    const check = spawnSync(process.execPath, shredded, { cwd: repoRoot, encoding: 'utf8' });
    console.log(check.stdout.trim());
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SHREDDED: 1 KMS key\(s\) gone/);
  },
);
