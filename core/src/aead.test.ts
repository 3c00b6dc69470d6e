import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { aeadEngine, nativeAead, nativeAeadLoadError } from './aead.ts';
import { DataKey } from './data-key.ts';
import { contextAad, open, seal } from './envelope.ts';

const skip = nativeAead ? false : `the native addon did not build here: ${nativeAeadLoadError}`;

function nodeSeal(key: Buffer, nonce: Buffer, aad: Buffer | undefined, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  if (aad) cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

test('the envelope runs on the native engine when the addon is built (ANSHIM_AEAD unset)', { skip }, () => {
  if (process.env.ANSHIM_AEAD === 'node') assert.equal(aeadEngine, 'node:crypto');
  else assert.equal(aeadEngine, 'native');
});

test('native seal is byte-identical to node:crypto, and each opens the other', { skip }, () => {
  const aead = nativeAead!;
  for (let i = 0; i < 300; i++) {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = i % 3 === 0 ? undefined : randomBytes(randomInt(0, 80));
    const plaintext = randomBytes(i < 40 ? i : randomInt(0, 2000));
    const schedule = aead.schedule(key);
    const target = Buffer.alloc(7 + plaintext.length + 16 + 5, 0xee);
    assert.equal(aead.seal(schedule, nonce, aad, plaintext, target, 7), plaintext.length + 16);
    const expected = nodeSeal(key, nonce, aad, plaintext);
    assert.deepEqual(target.subarray(7, 7 + expected.length), expected, `case ${i}`);
    assert.equal(target[6], 0xee, 'nothing written before the offset');
    assert.equal(target[7 + expected.length], 0xee, 'nothing written after the tag');

    const out = Buffer.alloc(plaintext.length);
    const ct = expected.subarray(0, plaintext.length);
    const tag = expected.subarray(plaintext.length);
    assert.equal(aead.open(schedule, nonce, aad, ct, tag, out), true);
    assert.deepEqual(out, plaintext);
  }
});

test('a wrong tag, AAD or nonce fails to open and leaves zeros, not unauthenticated plaintext', { skip }, () => {
  const aead = nativeAead!;
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = Buffer.from('campaign-record\u001fc\u001fr');
  const plaintext = Buffer.from('01099990001 홍길동 canary');
  const sealed = nodeSeal(key, nonce, aad, plaintext);
  const ct = sealed.subarray(0, plaintext.length);
  const tag = Buffer.from(sealed.subarray(plaintext.length));
  const schedule = aead.schedule(key);
  const out = Buffer.alloc(plaintext.length);
  tag[0]! ^= 1;
  assert.equal(aead.open(schedule, nonce, aad, ct, tag, out), false);
  assert.deepEqual(out, Buffer.alloc(plaintext.length));
  tag[0]! ^= 1;
  assert.equal(aead.open(schedule, nonce, Buffer.from('campaign-record\u001fc\u001fs'), ct, tag, out), false);
  assert.equal(aead.open(schedule, randomBytes(12), aad, ct, tag, out), false);
  assert.equal(aead.open(schedule, nonce, aad, ct, tag, out), true, 'the context recovers after failures');
  assert.deepEqual(out, plaintext);
});

test('bad arguments throw typed errors instead of touching memory', { skip }, () => {
  const aead = nativeAead!;
  const schedule = aead.schedule(randomBytes(32));
  const nonce = randomBytes(12);
  const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;
  assert.throws(() => aead.schedule(randomBytes(16)), code('ERR_OUT_OF_RANGE'));
  assert.throws(() => aead.schedule('k'.repeat(32) as never), code('ERR_INVALID_ARG_TYPE'));
  assert.throws(
    () => aead.seal({} as never, nonce, undefined, Buffer.alloc(1), Buffer.alloc(64), 0),
    code('ERR_INVALID_ARG_TYPE'),
  );
  assert.throws(
    () => aead.seal(schedule, randomBytes(8), undefined, Buffer.alloc(1), Buffer.alloc(64), 0),
    code('ERR_OUT_OF_RANGE'),
  );
  assert.throws(
    () => aead.seal(schedule, nonce, undefined, Buffer.alloc(10), Buffer.alloc(25), 0),
    code('ERR_OUT_OF_RANGE'),
  );
  assert.throws(
    () => aead.seal(schedule, nonce, undefined, Buffer.alloc(1), Buffer.alloc(64), 60),
    code('ERR_OUT_OF_RANGE'),
  );
  assert.throws(
    () => aead.seal(schedule, nonce, undefined, Buffer.alloc(1), Buffer.alloc(64), 1000),
    code('ERR_OUT_OF_RANGE'),
  );
  assert.throws(
    () => aead.seal(schedule, nonce, undefined, new Uint16Array(4) as never, Buffer.alloc(64), 0),
    code('ERR_INVALID_ARG_TYPE'),
  );
  assert.throws(
    () => aead.open(schedule, nonce, undefined, Buffer.alloc(8), Buffer.alloc(15), Buffer.alloc(8)),
    code('ERR_OUT_OF_RANGE'),
  );
  assert.throws(
    () => aead.open(schedule, nonce, undefined, Buffer.alloc(8), Buffer.alloc(16), Buffer.alloc(7)),
    code('ERR_OUT_OF_RANGE'),
  );
  assert.throws(() => (aead.seal as (...a: unknown[]) => number)(schedule, nonce), code('ERR_MISSING_ARGS'));
});

test('destroying a DataKey frees its native key schedule at once', { skip: skip || aeadEngine !== 'native' }, () => {
  const key = new DataKey('dk-shred', randomBytes(32));
  const frame = seal(key, Buffer.from('01099990002'));
  const schedule = key.keySchedule();
  key.destroy();
  assert.throws(
    () => nativeAead!.seal(schedule, randomBytes(12), undefined, Buffer.alloc(1), Buffer.alloc(32), 0),
    (err: unknown) => (err as { code?: string }).code === 'ERR_AEAD_RELEASED',
  );
  assert.throws(() => open(key, frame), /key-destroyed/);
});

test('a frame sealed on the native engine opens on node:crypto in another process, and back', { skip }, () => {
  const key = new DataKey('dk-cross', randomBytes(32));
  const aad = contextAad('campaign-record', 'cmp-x', 'rec-1');
  const frame = seal(key, Buffer.from('01099990003'), aad);
  const envelope = fileURLToPath(new URL('./envelope.ts', import.meta.url));
  const dataKey = fileURLToPath(new URL('./data-key.ts', import.meta.url));
  const aeadModule = fileURLToPath(new URL('./aead.ts', import.meta.url));
  const script = `
    const { open, seal, contextAad } = await import(${JSON.stringify(envelope)});
    const { DataKey } = await import(${JSON.stringify(dataKey)});
    const { aeadEngine } = await import(${JSON.stringify(aeadModule)});
    const key = new DataKey('dk-cross', Buffer.from(process.argv[1], 'base64'));
    const aad = contextAad('campaign-record', 'cmp-x', 'rec-1');
    const opened = open(key, Buffer.from(process.argv[2], 'base64'), aad).toString();
    const back = seal(key, Buffer.from(opened + '-back'), aad).toString('base64');
    console.log(JSON.stringify({ aeadEngine, opened, back }));`;
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, key.material.toString('base64'), frame.toString('base64')],
    { env: { ...process.env, ANSHIM_AEAD: 'node' }, encoding: 'utf8' },
  );
  const result = JSON.parse(output) as { aeadEngine: string; opened: string; back: string };
  assert.equal(result.aeadEngine, 'node:crypto');
  assert.equal(result.opened, '01099990003');
  assert.equal(open(key, Buffer.from(result.back, 'base64'), aad).toString(), '01099990003-back');
});
