import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import {
  carrierKeyFromPreShared,
  deriveCarrierKey,
  generateCarrierKeyPair,
  importCarrierPrivateKey,
  importCarrierPublicKey,
} from './carrier-keys.ts';
import { KeyError } from './data-key.ts';
import { EnvelopeError, open, seal } from './envelope.ts';

const body = Buffer.from('(광고) 안심마트 주말 특가');

test('pre-shared key: both ends get the same id and can open each other', () => {
  const secret = Buffer.alloc(32, 5);
  const worker = carrierKeyFromPreShared('skt', secret);
  const carrier = carrierKeyFromPreShared('skt', Buffer.from(secret));
  assert.match(worker.id, /^skt:psk:[0-9a-f]{16}$/);
  assert.equal(worker.id, carrier.id);
  assert.deepEqual(open(carrier, seal(worker, body)), body);
  assert.notEqual(carrierKeyFromPreShared('skt', Buffer.alloc(32, 6)).id, worker.id);
  assert.equal(carrierKeyFromPreShared('kt', secret, 'kt-2024-q3').id, 'kt-2024-q3');
  assert.throws(
    () => carrierKeyFromPreShared('skt', Buffer.alloc(16)),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key-material',
  );
  assert.throws(
    () => carrierKeyFromPreShared('SKT Telecom', secret),
    (e: unknown) => e instanceof KeyError,
  );
});

test('X25519 agreement: worker and carrier derive the same key and id', () => {
  const worker = generateCarrierKeyPair();
  const carrier = generateCarrierKeyPair();
  assert.equal(worker.publicKey.length, 32);
  const atWorker = deriveCarrierKey({
    carrier: 'kakao',
    privateKey: worker.privateKey,
    peerPublicKey: carrier.publicKey,
  });
  const atCarrier = deriveCarrierKey({
    carrier: 'kakao',
    privateKey: carrier.privateKey,
    peerPublicKey: worker.publicKey,
  });
  assert.equal(atWorker.id, atCarrier.id);
  assert.match(atWorker.id, /^kakao:x25519:[0-9a-f]{16}$/);
  assert.ok(atWorker.material.equals(atCarrier.material));
  assert.deepEqual(open(atCarrier, seal(atWorker, body)), body);
});

test('X25519: the carrier name (HKDF info) and salt separate keys', () => {
  const worker = generateCarrierKeyPair();
  const carrier = generateCarrierKeyPair();
  const base = { privateKey: worker.privateKey, peerPublicKey: carrier.publicKey };
  const kakao = deriveCarrierKey({ ...base, carrier: 'kakao' });
  const lgu = deriveCarrierKey({ ...base, carrier: 'lgu' });
  const salted = deriveCarrierKey({ ...base, carrier: 'kakao', salt: Buffer.from('epoch-2') });
  assert.ok(!kakao.material.equals(lgu.material));
  assert.ok(!kakao.material.equals(salted.material));
  assert.notEqual(kakao.id, salted.id);
  assert.throws(
    () => open(lgu, seal(kakao, body)),
    (e: unknown) => e instanceof EnvelopeError && e.reason === 'unknown-key',
  );
});

test('X25519: rejects malformed or small-order public keys and non-X25519 private keys', () => {
  const worker = generateCarrierKeyPair();
  assert.throws(
    () => importCarrierPublicKey(Buffer.alloc(31)),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key',
  );
  // The all-zero point has small order: the shared secret would be all zeros.
  assert.throws(
    () => deriveCarrierKey({ carrier: 'kt', privateKey: worker.privateKey, peerPublicKey: Buffer.alloc(32) }),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key',
  );
  const ed = generateKeyPairSync('ed25519').privateKey;
  assert.throws(
    () => deriveCarrierKey({ carrier: 'kt', privateKey: ed, peerPublicKey: worker.publicKey }),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key',
  );
});

test('PEM private keys import and derive the same key', () => {
  const worker = generateCarrierKeyPair();
  const carrier = generateCarrierKeyPair();
  const pem = worker.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const fromPem = deriveCarrierKey({
    carrier: 'kt',
    privateKey: importCarrierPrivateKey(pem),
    peerPublicKey: carrier.publicKey,
  });
  const direct = deriveCarrierKey({ carrier: 'kt', privateKey: worker.privateKey, peerPublicKey: carrier.publicKey });
  assert.ok(fromPem.material.equals(direct.material));
  assert.throws(
    () => importCarrierPrivateKey('not a pem'),
    (e: unknown) => e instanceof KeyError && e.reason === 'invalid-key',
  );
});
