// The committed generated code must match what the .proto files produce today.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error -- plain .mjs build script without typings
import { generate } from '../scripts/generate.mjs';

test('proto/generated is up to date with the .proto sources (run: npm run -w proto generate)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'anshim-proto-'));
  try {
    const fresh = (await generate(dir)) as { js: string; dts: string };
    const committedJs = await readFile(new URL('../generated/anshim.js', import.meta.url), 'utf8');
    const committedDts = await readFile(new URL('../generated/anshim.d.ts', import.meta.url), 'utf8');
    assert.ok(fresh.js === committedJs, 'generated/anshim.js is stale');
    assert.ok(fresh.dts === committedDts, 'generated/anshim.d.ts is stale');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('generated module reads int64 as plain numbers and enums by name', async () => {
  const { anshim } = await import('../generated/anshim.js');
  const M = anshim.carrier.v1.CarrierMessage;
  const decoded = M.decode(M.encode({ id: 'm', expiresAtMs: 2 ** 41 + 7 }).finish());
  assert.equal(decoded.expiresAtMs, 2 ** 41 + 7);
  assert.equal(typeof M.create().expiresAtMs, 'number');
  assert.equal(anshim.carrier.v1.ResultCode[anshim.carrier.v1.ResultCode.KAKAO_BLOCKED], 'KAKAO_BLOCKED');
});
