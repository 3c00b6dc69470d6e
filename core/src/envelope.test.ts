import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataKey } from './data-key.ts';
import {
  ENVELOPE_VERSION,
  EnvelopeError,
  NONCE_BYTES,
  TAG_BYTES,
  contextAad,
  frameKeyId,
  open,
  seal,
} from './envelope.ts';
import { Keyring, generateDataKey } from './keys.ts';

const plaintext = Buffer.from('{"phone":"01099990001","name":"테스트"}');
const aad = contextAad('campaign-record', 'cmp-1', 'rec-1');

function rejects(fn: () => unknown, reason: EnvelopeError['reason']): void {
  assert.throws(fn, (err: unknown) => err instanceof EnvelopeError && err.reason === reason);
}

test('seal then open round-trips, with and without AAD', () => {
  const key = generateDataKey('dk');
  assert.deepEqual(open(key, seal(key, plaintext, aad), aad), plaintext);
  assert.deepEqual(open(key, seal(key, plaintext)), plaintext);
  assert.deepEqual(open(key, seal(key, new Uint8Array(0))), Buffer.alloc(0));
});

test('frame layout: version | keyIdLength | keyId | nonce | ciphertext | tag', () => {
  const key = new DataKey('dk-layout', Buffer.alloc(32, 7));
  const frame = seal(key, plaintext);
  assert.equal(frame[0], ENVELOPE_VERSION);
  assert.equal(frame[1], 'dk-layout'.length);
  assert.equal(frame.toString('utf8', 2, 2 + 9), 'dk-layout');
  assert.equal(frame.length, 2 + 9 + NONCE_BYTES + plaintext.length + TAG_BYTES);
  assert.equal(frameKeyId(frame), 'dk-layout');
  assert.ok(!frame.includes(plaintext.subarray(0, 12)), 'ciphertext must not contain the plaintext');
});

test('nonces are fresh: sealing the same plaintext twice gives different frames', () => {
  const key = generateDataKey('dk');
  const nonces = new Set<string>();
  for (let i = 0; i < 10_000; i++)
    nonces.add(
      seal(key, plaintext)
        .subarray(2 + key.id.length, 2 + key.id.length + NONCE_BYTES)
        .toString('hex'),
    );
  assert.equal(nonces.size, 10_000); // crosses several nonce-pool refills
});

test('AAD binds the frame to its context', () => {
  const key = generateDataKey('dk');
  const frame = seal(key, plaintext, aad);
  rejects(() => open(key, frame, contextAad('campaign-record', 'cmp-1', 'rec-2')), 'auth-failed');
  rejects(() => open(key, frame), 'auth-failed');
  assert.notDeepEqual(contextAad('ab', 'c'), contextAad('a', 'bc'));
});

test('tampering with any byte of nonce, ciphertext or tag fails authentication', () => {
  const key = generateDataKey('dk');
  const frame = seal(key, plaintext, aad);
  for (const at of [2 + key.id.length, frame.length - TAG_BYTES - 3, frame.length - 1]) {
    const bad = Buffer.from(frame);
    bad[at] = (bad[at] as number) ^ 1;
    rejects(() => open(key, bad, aad), 'auth-failed');
  }
});

test('wrong key id or key: unknown-key; same id, other bytes: auth-failed', () => {
  const key = generateDataKey('dk');
  const frame = seal(key, plaintext);
  rejects(() => open(generateDataKey('dk'), frame), 'unknown-key');
  rejects(() => open(new DataKey(key.id, Buffer.alloc(32)), frame), 'auth-failed');
  rejects(() => open(new Keyring(), frame), 'unknown-key');
});

test('keyring opens by the frame key id', () => {
  const a = generateDataKey('a');
  const b = generateDataKey('b');
  const ring = new Keyring([a, b]);
  assert.deepEqual(open(ring, seal(b, plaintext, aad), aad), plaintext);
  assert.deepEqual(open(ring, seal(a, plaintext)), plaintext);
});

test('malformed frames are rejected without decrypting', () => {
  const key = generateDataKey('dk');
  const frame = seal(key, plaintext);
  rejects(() => open(key, Buffer.alloc(0)), 'malformed');
  rejects(() => open(key, frame.subarray(0, 2 + key.id.length + NONCE_BYTES + TAG_BYTES - 1)), 'malformed');
  const wrongVersion = Buffer.from(frame);
  wrongVersion[0] = 9;
  rejects(() => open(key, wrongVersion), 'malformed');
  rejects(() => frameKeyId(Buffer.from([1, 0])), 'malformed');
});

test('destroyed keys fail with key-destroyed and wipe their material', () => {
  const key = generateDataKey('dk');
  const frame = seal(key, plaintext);
  const ring = new Keyring([key]);
  ring.destroy(key.id);
  assert.ok(key.material.every((b) => b === 0));
  rejects(() => open(key, frame), 'key-destroyed');
  rejects(() => open(ring, frame), 'key-destroyed');
  rejects(() => seal(key, plaintext), 'key-destroyed');
});

test('errors carry the key id but never plaintext or key bytes', () => {
  const key = generateDataKey('dk');
  try {
    open(key, seal(key, plaintext, aad), contextAad('other'));
    assert.fail('expected auth-failed');
  } catch (err) {
    assert.ok(err instanceof EnvelopeError);
    assert.match(err.message, new RegExp(key.id));
    assert.doesNotMatch(err.message, /01099990001|테스트/);
    assert.ok(!err.message.includes(key.material.toString('hex')));
  }
});

test('accepts Uint8Array views (e.g. protobuf bytes fields) without copying semantics issues', () => {
  const key = generateDataKey('dk');
  const frame = seal(key, plaintext);
  const backing = new Uint8Array(frame.length + 10);
  backing.set(frame, 5);
  assert.deepEqual(open(key, backing.subarray(5, 5 + frame.length)), plaintext);
});
