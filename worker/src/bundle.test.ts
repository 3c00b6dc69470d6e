import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { carrierKeyFromFleetSecret, generateDataKey, sealCampaignRecord } from '@anshim/core';
import { repoRoot, fakeRecipients, textCampaign } from '@anshim/dev-platform';
import { CarrierMessage } from '@anshim/proto';
import { PreparePool } from './pool.ts';
import { buildTaskBundle, buildWorkerBundle } from './bundle.ts';
import { packFrames, unpackFrames } from './task.ts';

test('pool threads on the prebuilt task prepare what task.ts prepares', async (t) => {
  const file = await buildTaskBundle(join(repoRoot, 'worker', 'dist', `task-test-${process.pid}.cjs`));
  t.after(() => rmSync(file, { force: true }));
  const spec = textCampaign('bundle-test', { processors: ['skt', 'kt', 'lguplus'] });
  const dataKey = generateDataKey(spec.id);
  const carrierKeys = (['skt', 'kt', 'lguplus'] as const).map((carrier) => {
    const k = carrierKeyFromFleetSecret(carrier, Buffer.alloc(32, 9));
    return { carrier, id: k.id, material: new Uint8Array(k.material) };
  });
  const records = [...fakeRecipients(20)].map((r, i) => sealCampaignRecord(dataKey, spec.id, `r${i}`, r));
  records.push(Buffer.from('not a record'));
  const input = () => ({
    campaign: spec,
    campaignKeys: [{ id: dataKey.id, material: new Uint8Array(dataKey.material) }],
    carrierKeys,
    portabilitySeed: 'anshim-krnp',
    records: packFrames(records),
    now: Date.now(),
  });
  const bundled = new PreparePool({ threads: 1, taskFile: file });
  const source = new PreparePool({ threads: 1 });
  t.after(() => Promise.all([bundled.close(), source.close()]));
  const [a, b] = await Promise.all([bundled.run(input()), source.run(input())]);
  assert.equal(a.prepared.length, 20);
  assert.deepEqual(a.prepared, b.prepared);
  assert.deepEqual(a.failed, b.failed);
  assert.equal(a.failed[0]?.reason, 'malformed-record');
  const frames = unpackFrames(a.frames).map((f) => CarrierMessage.decode(f));
  assert.deepEqual(
    frames.map((m) => m.id),
    a.prepared.map((p) => p.recordId),
  );
});

test('the bundled worker (main.mjs + task.cjs) loads every module without the TypeScript loader', async (t) => {
  const dir = join(repoRoot, 'worker', 'dist', `bundle-test-${process.pid}`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { main, task } = await buildWorkerBundle(dir);
  assert.equal(dirname(task), dirname(main));
  // No config: the process gets as far as reading its environment, so every static import resolved.
  const run = spawnSync(process.execPath, [main], { cwd: repoRoot, encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stdout + run.stderr, /ANSHIM_WORKER_CONFIG is not set/);
  assert.doesNotMatch(readFileSync(main, 'utf8'), /from ["']tsx/);
});
