import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { IngestError } from './errors.ts';
import { ByteCounter, checkDeclaredLength, DEFAULT_LIMITS, resolveLimits } from './limits.ts';

test('limits default, override, and refuse nonsense', () => {
  assert.equal(resolveLimits().maxUploadBytes, DEFAULT_LIMITS.maxUploadBytes);
  assert.equal(resolveLimits({ maxRows: 10 }).maxRows, 10);
  assert.throws(() => resolveLimits({ maxRows: 0 }), RangeError);
  assert.throws(() => resolveLimits({ maxCellChars: 1.5 }), RangeError);
});

test('a declared length over the limit is refused; the byte counter fails as soon as the count passes it', async () => {
  assert.throws(() => checkDeclaredLength(2 * 1024 ** 3, 1024), { code: 'upload-too-large' });
  assert.doesNotThrow(() => checkDeclaredLength(undefined, 1024));
  let passed = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      passed += chunk.length;
      done();
    },
  });
  const chunks = Array.from({ length: 10 }, () => Buffer.alloc(100));
  await assert.rejects(pipeline(Readable.from(chunks), new ByteCounter(450), sink), (err: unknown) => {
    return err instanceof IngestError && err.code === 'upload-too-large' && /450 bytes/.test(err.message);
  });
  assert.equal(passed, 400);
});
