// The destruction certificate: what a campaign's sender and an auditor receive once its data
// key is shredded and its topics are deleted. Counts, ids, times and audit chain heads only,
// never personal data; signed with the operator's Ed25519 key over the certificate's
// canonical JSON (RFC 8785 shape), so anyone holding the public key can check it.
import { createHash, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, isJsonObject, type JsonValue } from './canonical.ts';
import type { ChainHead } from './audit-entry.ts';
import { ComplianceError } from './errors.ts';
import { findPhoneLike, refusePersonalData } from './personal-data.ts';
import { signingKeyId, type SigningKeyPair } from './signing-key.ts';

export const CERTIFICATE_KIND = 'anshim.io/destruction-certificate';
/** 2: cites the KMS's destruction of each campaign wrapping key (`kmsDestructions`). */
export const CERTIFICATE_VERSION = 2;

/** One wrapping key the KMS destroyed, as it answered (the auditor's CLI asks the KMS again). */
export interface CertifiedKmsDestruction {
  /** The KEK id the campaign's wrapped data keys name. */
  kekId: string;
  /** The service, e.g. `transit engine at /transit (server 2.7.2)`. */
  kms: string;
  /** The key's name in the KMS: `campaign.<namespace>.<name>`. */
  keyName: string;
  /** The KMS's answers: `… DELETE … → 204; GET … → 404 (no such key)`. */
  answer: string;
  /** When the KMS confirmed the key no longer exists. */
  destroyedAt: string;
}

export interface DestructionCertificate {
  kind: typeof CERTIFICATE_KIND;
  version: typeof CERTIFICATE_VERSION;
  certificateId: string;
  /** `<namespace>.<name>` of the MessagingCampaign. */
  campaign: string;
  keyIdsDestroyed: string[];
  /**
   * The campaign's wrapping keys destroyed in the KMS: with these gone, every copy of the wrapped
   * data key (etcd history, backups, the peer cluster) is inert. Empty when the platform ran with a
   * local KEK (development), whose copies are not made inert by anything.
   */
  kmsDestructions: CertifiedKmsDestruction[];
  /** Messages by final outcome (`delivered`, `handset-off`, `no-such-number`, `spam-blocked`, …). */
  counts: Record<string, number>;
  /** When the last message reached a final outcome. */
  completedAt: string;
  /** When the data keys were shredded. */
  destroyedAt: string;
  completionToDestructionSeconds: number;
  topicsDeleted: string[];
  /** The audit chains' heads after the destruction was recorded. */
  auditHeads: ChainHead[];
  /** Who signed: the operator instance (`anshim-operator@<cluster>`). */
  issuer: string;
  issuedAt: string;
}

export interface SignedDestructionCertificate {
  certificate: DestructionCertificate;
  signature: { algorithm: 'Ed25519'; keyId: string; value: string };
}

export type CertificateInput = Omit<
  DestructionCertificate,
  'kind' | 'version' | 'certificateId' | 'completionToDestructionSeconds' | 'issuedAt'
> & { certificateId?: string; issuedAt?: string };

export type CertificateProblemKind =
  /** A field is missing, extra or of the wrong form. */
  | 'schema'
  /** Fields contradict each other (times, durations). */
  | 'inconsistent'
  | 'personal-data'
  /** Signed by another key than the one given. */
  | 'wrong-key'
  /** The signature does not match the certificate: it was altered after signing, or forged. */
  | 'bad-signature';

export interface CertificateProblem {
  kind: CertificateProblemKind;
  /** The field concerned, e.g. `certificate.counts.delivered`. */
  field?: string;
  reason: string;
}

export interface CertificateVerification {
  ok: boolean;
  /** Present when the document has the certificate's shape (even if other checks failed). */
  certificate?: DestructionCertificate;
  keyId?: string;
  problems: CertificateProblem[];
}

export class CertificateError extends ComplianceError<'invalid-certificate'> {
  override readonly name = 'CertificateError';
  constructor(readonly problems: CertificateProblem[]) {
    super('invalid-certificate', problems.map((p) => `${p.field ?? ''}: ${p.reason}`).join('; '));
  }
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const OUTCOME = /^[a-z][a-z0-9-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const FIELDS = [
  'kind',
  'version',
  'certificateId',
  'campaign',
  'keyIdsDestroyed',
  'kmsDestructions',
  'counts',
  'completedAt',
  'destroyedAt',
  'completionToDestructionSeconds',
  'topicsDeleted',
  'auditHeads',
  'issuer',
  'issuedAt',
];

const seconds = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 1000;

/** Everything wrong with a certificate's shape and consistency (empty when it is well-formed). */
export function certificateProblems(value: unknown, at = 'certificate'): CertificateProblem[] {
  if (!isJsonObject(value)) return [{ kind: 'schema', field: at, reason: 'not an object' }];
  const problems: CertificateProblem[] = [];
  const bad = (field: string, reason: string, kind: CertificateProblemKind = 'schema') =>
    problems.push({ kind, field: `${at}.${field}`, reason });
  const text = (field: string) => {
    if (typeof value[field] !== 'string' || value[field] === '') bad(field, 'must be a non-empty string');
  };
  const time = (field: string) => {
    const v = value[field];
    if (typeof v !== 'string' || !ISO_UTC.test(v) || Number.isNaN(Date.parse(v)))
      bad(field, 'must be an ISO 8601 UTC time');
  };
  const strings = (field: string, minItems: number) => {
    const v = value[field];
    if (!Array.isArray(v) || v.length < minItems || v.some((s) => typeof s !== 'string' || s === ''))
      bad(field, `must be a list of ${minItems ? 'at least one ' : ''}non-empty string${minItems ? '' : 's'}`);
  };

  for (const key of Object.keys(value)) if (!FIELDS.includes(key)) bad(key, 'unexpected field');
  if (value.kind !== CERTIFICATE_KIND) bad('kind', `must be ${CERTIFICATE_KIND}`);
  if (value.version !== CERTIFICATE_VERSION) bad('version', `must be ${CERTIFICATE_VERSION}`);
  ['certificateId', 'campaign', 'issuer'].forEach(text);
  ['completedAt', 'destroyedAt', 'issuedAt'].forEach(time);
  strings('keyIdsDestroyed', 1);
  strings('topicsDeleted', 0);

  const KMS_FIELDS = ['kekId', 'kms', 'keyName', 'answer', 'destroyedAt'];
  if (!Array.isArray(value.kmsDestructions)) bad('kmsDestructions', 'must be a list of KMS destructions');
  else
    value.kmsDestructions.forEach((k: unknown, i) => {
      const ok =
        isJsonObject(k) &&
        Object.keys(k).length === KMS_FIELDS.length &&
        KMS_FIELDS.every((f) => typeof k[f] === 'string' && k[f] !== '') &&
        ISO_UTC.test(k.destroyedAt as string);
      if (!ok) bad(`kmsDestructions[${i}]`, `must be {${KMS_FIELDS.join(', ')}} (strings, destroyedAt a UTC time)`);
      else if (
        typeof value.destroyedAt === 'string' &&
        Date.parse(k.destroyedAt as string) > Date.parse(value.destroyedAt)
      )
        bad(`kmsDestructions[${i}]`, "destroyedAt is after the certificate's destroyedAt", 'inconsistent');
    });

  if (!isJsonObject(value.counts)) bad('counts', 'must be an object of outcome → count');
  else
    for (const [outcome, n] of Object.entries(value.counts)) {
      if (!OUTCOME.test(outcome)) bad(`counts.${outcome}`, 'outcome names are lowercase-with-dashes');
      if (!Number.isSafeInteger(n) || (n as number) < 0) bad(`counts.${outcome}`, 'must be a count (integer ≥ 0)');
    }

  if (!Array.isArray(value.auditHeads)) bad('auditHeads', 'must be a list of chain heads');
  else
    value.auditHeads.forEach((h: unknown, i) => {
      const ok =
        isJsonObject(h) &&
        Object.keys(h).length === 3 &&
        typeof h.chain === 'string' &&
        h.chain !== '' &&
        Number.isSafeInteger(h.seq) &&
        (h.seq as number) >= 0 &&
        typeof h.hash === 'string' &&
        HEX64.test(h.hash);
      if (!ok) bad(`auditHeads[${i}]`, 'must be {chain, seq, hash}');
    });

  const d = value.completionToDestructionSeconds;
  if (typeof d !== 'number' || !Number.isFinite(d)) bad('completionToDestructionSeconds', 'must be a number');
  const timed = !problems.some((p) =>
    /\.(completedAt|destroyedAt|issuedAt|completionToDestructionSeconds)$/.test(p.field ?? ''),
  );
  if (timed) {
    const c = value as unknown as DestructionCertificate;
    const expected = seconds(c.completedAt, c.destroyedAt);
    if (expected < 0) bad('destroyedAt', 'is before completedAt', 'inconsistent');
    else if (c.completionToDestructionSeconds !== expected)
      bad('completionToDestructionSeconds', `is not destroyedAt − completedAt (${expected} s)`, 'inconsistent');
    if (Date.parse(c.issuedAt) < Date.parse(c.destroyedAt)) bad('issuedAt', 'is before destroyedAt', 'inconsistent');
  }
  return problems;
}

/** The bytes the signature covers. */
export function certificateSigningBytes(certificate: DestructionCertificate): Buffer {
  return Buffer.from(canonicalJson(certificate as unknown as JsonValue), 'utf8');
}

/** SHA-256 (hex) of the signed document's canonical JSON: what the audit chain records on issue. */
export function certificateDigest(signed: SignedDestructionCertificate): string {
  return createHash('sha256')
    .update(canonicalJson(signed as unknown as JsonValue))
    .digest('hex');
}

/**
 * Builds and signs a certificate. Throws CertificateError for a malformed or inconsistent one
 * and PersonalDataError if any field looks like a phone number.
 */
export function issueCertificate(
  input: CertificateInput,
  key: Pick<SigningKeyPair, 'privateKey' | 'keyId'>,
  now: () => Date = () => new Date(),
): SignedDestructionCertificate {
  const certificate: DestructionCertificate = {
    kind: CERTIFICATE_KIND,
    version: CERTIFICATE_VERSION,
    certificateId: input.certificateId ?? randomUUID(),
    campaign: input.campaign,
    keyIdsDestroyed: [...input.keyIdsDestroyed],
    kmsDestructions: input.kmsDestructions.map(({ kekId, kms, keyName, answer, destroyedAt }) => ({
      kekId,
      kms,
      keyName,
      answer,
      destroyedAt,
    })),
    counts: { ...input.counts },
    completedAt: input.completedAt,
    destroyedAt: input.destroyedAt,
    completionToDestructionSeconds: seconds(input.completedAt, input.destroyedAt),
    topicsDeleted: [...input.topicsDeleted],
    auditHeads: input.auditHeads.map(({ chain, seq, hash }) => ({ chain, seq, hash })),
    issuer: input.issuer,
    issuedAt: input.issuedAt ?? now().toISOString(),
  };
  const problems = certificateProblems(certificate);
  if (problems.length) throw new CertificateError(problems);
  refusePersonalData(certificate, 'certificate');
  const value = sign(null, certificateSigningBytes(certificate), key.privateKey).toString('base64');
  return { certificate, signature: { algorithm: 'Ed25519', keyId: key.keyId, value } };
}

/** Checks a signed certificate document (as parsed from its JSON file) against a public key. */
export function verifyCertificate(document: unknown, publicKey: KeyObject): CertificateVerification {
  if (!isJsonObject(document) || !isJsonObject(document.signature) || !('certificate' in document))
    return { ok: false, problems: [{ kind: 'schema', reason: 'not a signed certificate ({certificate, signature})' }] };
  const problems: CertificateProblem[] = [];
  for (const key of Object.keys(document))
    if (key !== 'certificate' && key !== 'signature')
      problems.push({ kind: 'schema', field: key, reason: 'unexpected field' });
  const shape = certificateProblems(document.certificate);
  problems.push(...shape);
  const pii = findPhoneLike(document, '$');
  if (pii !== undefined)
    problems.push({ kind: 'personal-data', field: pii, reason: 'holds phone-number-like content' });

  const { algorithm, keyId, value } = document.signature;
  const expectedKeyId = signingKeyId(publicKey);
  if (algorithm !== 'Ed25519')
    problems.push({ kind: 'schema', field: 'signature.algorithm', reason: 'must be Ed25519' });
  if (keyId !== expectedKeyId)
    problems.push({
      kind: 'wrong-key',
      field: 'signature.keyId',
      reason: `signed by ${String(keyId)}, not ${expectedKeyId}`,
    });
  const signature = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  let valid = false;
  try {
    valid =
      signature.length === 64 &&
      verify(null, certificateSigningBytes(document.certificate as DestructionCertificate), publicKey, signature);
  } catch {
    valid = false; // not canonically encodable: cannot be what was signed
  }
  if (!valid && keyId === expectedKeyId)
    problems.push({
      kind: 'bad-signature',
      field: 'signature.value',
      reason: 'does not match the certificate: it was altered after signing, or the signature is forged',
    });
  return {
    ok: problems.length === 0,
    ...(shape.some((p) => p.kind === 'schema')
      ? {}
      : { certificate: document.certificate as unknown as DestructionCertificate }),
    keyId: typeof keyId === 'string' ? keyId : undefined,
    problems,
  };
}
