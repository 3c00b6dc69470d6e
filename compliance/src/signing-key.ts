// The operator's certificate signing key: an Ed25519 pair in PEM files (PKCS#8 private,
// SPKI public), typically mounted from a Kubernetes Secret. Generated on first use if absent.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ComplianceError } from './errors.ts';

export type SigningKeyErrorReason = 'unreadable' | 'not-ed25519' | 'pair-mismatch';

export class SigningKeyError extends ComplianceError<SigningKeyErrorReason> {
  override readonly name = 'SigningKeyError';
}

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `ed25519:<sha256 of the SPKI DER, hex>`: names the key in signatures without shipping it. */
  keyId: string;
}

export function signingKeyId(publicKey: KeyObject): string {
  return `ed25519:${createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
}

function requireEd25519(key: KeyObject, file: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SigningKeyError('not-ed25519', `${file} holds a ${key.asymmetricKeyType ?? 'symmetric'} key`);
  return key;
}

async function readPem(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SigningKeyError('unreadable', `${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: err,
    });
  }
}

function parseKey(pem: string, file: string, kind: 'private' | 'public'): KeyObject {
  try {
    return requireEd25519(kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem), file);
  } catch (err) {
    if (err instanceof SigningKeyError) throw err;
    throw new SigningKeyError('unreadable', `${file} is not a PEM ${kind} key`, { cause: err });
  }
}

/** Reads an Ed25519 public key (SPKI PEM) to verify certificates with. */
export async function loadPublicKey(file: string): Promise<KeyObject> {
  const pem = await readPem(file);
  if (pem === undefined) throw new SigningKeyError('unreadable', `${file}: ENOENT`);
  return parseKey(pem, file, 'public');
}

export const publicKeyFileFor = (privateKeyFile: string): string => privateKeyFile.replace(/(\.pem)?$/, '.pub.pem');

/**
 * Loads the pair, or generates it if the private key file does not exist (written 0600,
 * exclusively, so two processes racing on first start end up with the same key).
 */
export async function loadOrCreateSigningKey(
  privateKeyFile: string,
  publicKeyFile = publicKeyFileFor(privateKeyFile),
): Promise<SigningKeyPair & { created: boolean }> {
  let created = false;
  let pem = await readPem(privateKeyFile);
  if (pem === undefined) {
    const { privateKey } = generateKeyPairSync('ed25519');
    await mkdir(dirname(privateKeyFile), { recursive: true });
    try {
      await writeFile(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    pem = (await readPem(privateKeyFile)) ?? '';
  }
  const privateKey = parseKey(pem, privateKeyFile, 'private');
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'pem' });
  const storedPublic = await readPem(publicKeyFile);
  if (storedPublic === undefined) {
    await writeFile(publicKeyFile, spki, { mode: 0o644 });
  } else if (signingKeyId(parseKey(storedPublic, publicKeyFile, 'public')) !== signingKeyId(publicKey)) {
    throw new SigningKeyError('pair-mismatch', `${publicKeyFile} is not the public half of ${privateKeyFile}`);
  }
  return { privateKey, publicKey, keyId: signingKeyId(publicKey), created };
}
