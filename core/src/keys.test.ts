import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { open, seal } from './envelope.ts';
import { DataKey, KeyError, Keyring, LocalKekProvider, generateDataKey, unwrapDataKey, wrappedKekId } from './keys.ts';

const kekBytes = () => Buffer.alloc(32, 0x42);

test('generateDataKey: 32 random bytes, prefixed unique ids', () => {
  const a = generateDataKey('cmp-1');
  const b = generateDataKey('cmp-1');
  assert.match(a.id, /^cmp-1-[0-9a-f]{16}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(a.material.length, 32);
  assert.ok(!a.material.equals(b.material));
});

test('DataKey validates id and material', () => {
  assert.throws(
    () => new DataKey('', Buffer.alloc(32)),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key-id',
  );
  assert.throws(
    () => new DataKey('x'.repeat(256), Buffer.alloc(32)),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key-id',
  );
  assert.throws(
    () => new DataKey('k', Buffer.alloc(16)),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key-material',
  );
});

test('DataKey never prints its material', () => {
  const key = generateDataKey('dk');
  const hex = key.material.toString('hex');
  assert.ok(!JSON.stringify({ key }).includes(hex));
  assert.ok(!JSON.stringify({ key }).includes('"type":"Buffer"'));
  assert.equal(inspect(key), `DataKey(${key.id})`);
});

const C = 'shop.weekend';

test('a wrapped key opens for its own campaign only: copied to another, it does not unwrap', async () => {
  const kek = new LocalKekProvider('kek-2024', kekBytes());
  const key = generateDataKey(C);
  const wrapped = await kek.wrap(key, C);
  assert.ok((await kek.unwrap(wrapped, C)).material.equals(key.material));
  for (const other of ['other.weekend', 'shop.weekend2', 'shop'])
    await assert.rejects(
      kek.unwrap(wrapped, other),
      (e: unknown) => e instanceof KeyError && e.reason === 'unwrap-failed',
      other,
    );
});

test('wrap/unwrap under a local KEK round-trips and records the KEK id', async () => {
  const kek = new LocalKekProvider('kek-2024', kekBytes());
  const key = generateDataKey('cmp-1');
  const wrapped = await kek.wrap(key, C);
  assert.equal(wrappedKekId(wrapped), 'kek-2024');
  assert.ok(!wrapped.includes(key.material));
  const back = await kek.unwrap(wrapped, C);
  assert.equal(back.id, key.id);
  assert.ok(back.material.equals(key.material));
  // The unwrapped key opens frames the original sealed.
  assert.equal(open(back, seal(key, Buffer.from('hi'))).toString(), 'hi');
});

test('unwrap with the wrong KEK or a tampered blob fails with a typed reason', async () => {
  const wrapped = await new LocalKekProvider('kek-a', kekBytes()).wrap(generateDataKey('cmp'), C);
  await assert.rejects(
    new LocalKekProvider('kek-b', kekBytes()).unwrap(wrapped, C),
    (e: unknown) => e instanceof KeyError && e.reason === 'unknown-kek',
  );
  await assert.rejects(
    new LocalKekProvider('kek-a', Buffer.alloc(32, 1)).unwrap(wrapped, C),
    (e: unknown) => e instanceof KeyError && e.reason === 'unwrap-failed',
  );
  const tampered = Buffer.from(wrapped);
  tampered[tampered.length - 20] = (tampered[tampered.length - 20] as number) ^ 0xff;
  await assert.rejects(
    new LocalKekProvider('kek-a', kekBytes()).unwrap(tampered, C),
    (e: unknown) => e instanceof KeyError && e.reason === 'unwrap-failed',
  );
});

test('unwrapDataKey picks the provider by the recorded KEK id (rotation)', async () => {
  const old = new LocalKekProvider('kek-old', Buffer.alloc(32, 1));
  const current = new LocalKekProvider('kek-new', Buffer.alloc(32, 2));
  const key = generateDataKey('cmp');
  const back = await unwrapDataKey([current, old], await old.wrap(key, C), C);
  assert.ok(back.material.equals(key.material));
  await assert.rejects(
    unwrapDataKey([current], await old.wrap(key, C), C),
    (e: unknown) => e instanceof KeyError && e.reason === 'unknown-kek',
  );
});

test('LocalKekProvider copies its KEK bytes and rejects wrong sizes', async () => {
  const bytes = kekBytes();
  const kek = new LocalKekProvider('kek', bytes);
  const wrapped = await kek.wrap(generateDataKey('cmp'), C);
  bytes.fill(0); // caller wipes its copy
  await kek.unwrap(wrapped, C);
  assert.throws(
    () => new LocalKekProvider('kek', Buffer.alloc(31)),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key-material',
  );
  kek.destroy();
  await assert.rejects(kek.unwrap(wrapped, C), (e: unknown) => e instanceof KeyError && e.reason === 'unwrap-failed');
});

test('Keyring: lookup, destroy keeps a tombstone, duplicates rejected', () => {
  const a = generateDataKey('a');
  const b = generateDataKey('b');
  const ring = new Keyring([a, b]);
  assert.equal(ring.lookup(a.id), a);
  assert.deepEqual(ring.ids().sort(), [a.id, b.id].sort());
  assert.equal(ring.destroy(a.id), true);
  assert.equal(ring.destroy('never-there'), false);
  assert.equal(ring.has(a.id), false);
  assert.equal(ring.lookup(a.id)?.destroyed, true);
  assert.deepEqual(ring.ids(), [b.id]);
  assert.throws(
    () => ring.add(new DataKey(b.id, Buffer.alloc(32, 9))),
    (e: unknown) => e instanceof KeyError,
  );
  assert.throws(
    () => ring.add(new DataKey(a.id, Buffer.alloc(32, 9))),
    (e: unknown) => e instanceof KeyError,
  );
  ring.add(b); // re-adding the same key is a no-op
  ring.destroyAll();
  assert.ok(b.material.every((x) => x === 0));
  assert.deepEqual(ring.ids(), []);
});
