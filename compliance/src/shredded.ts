// The auditor's check that a certified destruction holds against every copy: asked of the
// running KMS, each campaign key the certificate cites must no longer exist there, and every
// wrapped data key found in the evidence (etcd's history of the campaign's key Secret, files
// from a backup) must fail to unwrap. Finding nothing to try is not a pass: it cannot be checked.
import type { DestructionCertificate } from './certificate.ts';
import { KmsError, type TransitClient } from '@anshim/kms';

const CIPHERTEXT = /vault:v\d+:[A-Za-z0-9+/]+={0,2}/g;

/**
 * Transit ciphertexts (`vault:v<version>:<base64>`) in any bytes: a Secret as etcd stores it
 * (protobuf), a JSON dump, a backup; also inside base64 runs (a Secret printed by kubectl, a
 * worker file's `wrappedKeys`).
 */
export function findTransitCiphertexts(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const found = new Set(text.match(CIPHERTEXT) ?? []);
  for (const run of text.match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? [])
    for (const c of Buffer.from(run, 'base64').toString('latin1').match(CIPHERTEXT) ?? []) found.add(c);
  return [...found];
}

export interface EvidenceItem {
  /** Where it came from: `etcd <key> @<revision>`, or a file name. */
  source: string;
  bytes: Buffer;
}

export interface ShreddedCheck {
  ok: boolean;
  /** The KMS could not be asked, or there was nothing to try: exit 2, not a verdict. */
  cannotCheck?: string;
  keys: Array<{ keyName: string; gone: boolean; answer: string }>;
  attempts: Array<{ source: string; keyName: string; opened: boolean; answer: string }>;
}

export async function checkShredded(
  certificate: DestructionCertificate,
  kms: TransitClient,
  evidence: EvidenceItem[],
  mount = 'transit',
): Promise<ShreddedCheck> {
  const check: ShreddedCheck = { ok: false, keys: [], attempts: [] };
  if (certificate.kmsDestructions.length === 0)
    return {
      ...check,
      cannotCheck:
        'the certificate cites no KMS destruction (the platform ran with a local KEK, whose copies nothing makes inert)',
    };
  const ask = async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ ok: boolean; answer: string }> => {
    try {
      const res = await kms.call(method, path, body);
      return { ok: true, answer: `${method} ${path} → ${res.status}` };
    } catch (err) {
      if (err instanceof KmsError && err.reason === 'unavailable') throw err;
      return { ok: false, answer: err instanceof Error ? err.message : String(err) };
    }
  };
  try {
    for (const d of certificate.kmsDestructions) {
      const { ok, answer } = await ask('GET', `${mount}/keys/${encodeURIComponent(d.keyName)}`);
      check.keys.push({ keyName: d.keyName, gone: !ok && /not-found/.test(answer), answer });
    }
    let found = 0;
    for (const item of evidence) {
      for (const ciphertext of findTransitCiphertexts(item.bytes)) {
        found++;
        for (const d of certificate.kmsDestructions) {
          const { ok, answer } = await ask('POST', `${mount}/decrypt/${encodeURIComponent(d.keyName)}`, {
            ciphertext,
            associated_data: Buffer.from(certificate.campaign).toString('base64'),
          });
          check.attempts.push({ source: item.source, keyName: d.keyName, opened: ok, answer });
        }
      }
    }
    if (evidence.length > 0 && found === 0)
      return { ...check, cannotCheck: 'no wrapped data key found in the evidence given: nothing to try' };
  } catch (err) {
    return { ...check, cannotCheck: `the KMS did not answer: ${(err as Error).message}` };
  }
  check.ok = check.keys.every((k) => k.gone) && check.attempts.every((a) => !a.opened);
  return check;
}

export function formatShreddedCheck(file: string, c: ShreddedCheck): string {
  const lines = [`Shredding of ${file}, asked of the KMS`];
  for (const k of c.keys)
    lines.push(
      `  ${k.gone ? '✓' : '✗'} key ${k.keyName}: ${k.gone ? 'no longer exists' : 'STILL EXISTS'} (${k.answer})`,
    );
  for (const a of c.attempts)
    lines.push(`  ${a.opened ? '✗ OPENED' : '✓ refused'}  ${a.source} under ${a.keyName}: ${a.answer}`);
  if (c.cannotCheck) lines.push(`CANNOT CHECK: ${c.cannotCheck}`);
  else
    lines.push(
      c.ok
        ? `SHREDDED: ${c.keys.length} KMS key(s) gone, ${c.attempts.length} unwrap attempt(s) refused`
        : 'NOT SHREDDED: a certified key still exists or a wrapped data key opened',
    );
  return lines.join('\n');
}
