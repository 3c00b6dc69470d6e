import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptedSpill } from './spill.ts';
import { chunked } from './test-fixtures.ts';

async function read(spill: EncryptedSpill, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of spill.readRange(start, end)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

test('the spill returns any byte range of the plaintext, across block and read boundaries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spill-test-'));
  try {
    const data = randomBytes(200_003);
    const spill = await EncryptedSpill.write(chunked(data, 4093), dir);
    assert.equal(spill.size, data.length);
    // Unlinked at once: nothing of it is visible in the directory, not even its folder.
    assert.deepEqual(readdirSync(dir), []);
    for (const [s, e] of [
      [0, 1],
      [15, 17],
      [16, 32],
      [65_530, 131_100],
      [data.length - 5, data.length],
      [0, data.length],
    ] as const)
      assert.ok((await read(spill, s, e)).equals(data.subarray(s, e)), `${s}..${e}`);
    await spill.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
