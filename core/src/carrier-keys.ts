// Per-carrier transport keys: the worker re-seals recipient and body for the carrier
// with a key only that carrier shares. Either a pre-shared 32-byte key, or an X25519
// agreement between the worker's and the carrier's key pairs, stretched with HKDF.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { DATA_KEY_BYTES, DataKey, KeyError } from './data-key.ts';

export const X25519_PUBLIC_KEY_BYTES = 32;
export const CARRIER_HKDF_INFO_PREFIX = 'anshim-carrier-v1|';

// Carrier names end up in key ids and HKDF info; keep them simple tokens.
const CARRIER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

function checkCarrier(carrier: string): void {
  if (!CARRIER_NAME.test(carrier)) throw new KeyError('invalid-key-id', 'carrier name must match [a-z0-9][a-z0-9._-]*');
}

function fingerprint(...parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 16);
}

/**
 * A transport key from a pre-shared 32-byte secret. The default id carries a truncated
 * SHA-256 fingerprint so both ends agree on it and rotations get new ids.
 */
export function carrierKeyFromPreShared(carrier: string, secret: Uint8Array, keyId?: string): DataKey {
  checkCarrier(carrier);
  if (secret.length !== DATA_KEY_BYTES)
    throw new KeyError('invalid-key-material', `pre-shared key must be ${DATA_KEY_BYTES} bytes`);
  const material = Buffer.alloc(DATA_KEY_BYTES);
  material.set(secret);
  return new DataKey(keyId ?? `${carrier}:psk:${fingerprint(Buffer.from('psk|'), material)}`, material);
}

export interface CarrierKeyPair {
  /** Raw 32-byte X25519 public key, to publish to the other side. */
  publicKey: Buffer;
  privateKey: KeyObject;
}

export function generateCarrierKeyPair(): CarrierKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublicKey(publicKey), privateKey };
}

function rawPublicKey(key: KeyObject): Buffer {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new KeyError('invalid-key', 'not an X25519 public key');
  return Buffer.from(x, 'base64url');
}

/** Imports a raw 32-byte X25519 public key. */
export function importCarrierPublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_PUBLIC_KEY_BYTES)
    throw new KeyError('invalid-key', `X25519 public key must be ${X25519_PUBLIC_KEY_BYTES} bytes`);
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    throw new KeyError('invalid-key', 'not an X25519 public key');
  }
}

/** Imports a PKCS#8 PEM X25519 private key (e.g. mounted from a Secret). */
export function importCarrierPrivateKey(pem: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'x25519') throw new Error('wrong type');
    return key;
  } catch {
    throw new KeyError('invalid-key', 'not an X25519 private key');
  }
}

export interface CarrierAgreement {
  carrier: string;
  privateKey: KeyObject;
  /** The other side's raw public key. */
  peerPublicKey: Uint8Array;
  /** Optional HKDF salt both sides agree on (e.g. a rotation epoch). */
  salt?: Uint8Array;
}

/**
 * Derives the transport key both ends compute from their own private key and the peer's
 * public key: HKDF-SHA256(X25519 shared secret, salt, 'anshim-carrier-v1|<carrier>').
 * The key id hashes both public keys in sorted order, so worker and carrier agree on it.
 */
export function deriveCarrierKey({ carrier, privateKey, peerPublicKey, salt }: CarrierAgreement): DataKey {
  checkCarrier(carrier);
  if (privateKey.asymmetricKeyType !== 'x25519') throw new KeyError('invalid-key', 'not an X25519 private key');
  const peer = importCarrierPublicKey(peerPublicKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: peer });
  } catch {
    // OpenSSL refuses small-order points (the shared secret would be all zeros, i.e. public).
    throw new KeyError('invalid-key', 'degenerate X25519 public key');
  }
  if (shared.every((b) => b === 0)) throw new KeyError('invalid-key', 'degenerate X25519 public key');
  const material = Buffer.from(
    hkdfSync('sha256', shared, salt ?? Buffer.alloc(0), CARRIER_HKDF_INFO_PREFIX + carrier, DATA_KEY_BYTES),
  );
  shared.fill(0);
  const own = rawPublicKey(createPublicKey(privateKey));
  const [a, b] = Buffer.compare(own, Buffer.from(peerPublicKey)) <= 0 ? [own, peerPublicKey] : [peerPublicKey, own];
  return new DataKey(`${carrier}:x25519:${fingerprint(a, b, salt ?? Buffer.alloc(0))}`, material);
}

/**
 * One transport key per carrier from one fleet-wide secret (a single Secret serves the
 * local stack, tests and benchmarks): secret = SHA-256(fleetSecret ‖ "|" ‖ carrier).
 * Worker and carrier simulators derive the same key and key id.
 */
export function carrierKeyFromFleetSecret(carrier: string, fleetSecret: Uint8Array): DataKey {
  const secret = createHash('sha256').update(fleetSecret).update('|').update(carrier).digest();
  return carrierKeyFromPreShared(carrier, secret);
}
