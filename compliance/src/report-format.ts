// What an auditor reads: plain lines, one verdict at the end. Reports carry ids, counts and
// hashes only, so printing them never prints personal data.
import type { AuditReport } from './audit-verify.ts';
import type { CertificateVerification } from './certificate.ts';

const short = (hash: string) => `${hash.slice(0, 16)}…`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatCertificateVerification(file: string, v: CertificateVerification): string {
  const lines = [`Destruction certificate ${file}`];
  const c = v.certificate;
  if (c) {
    const total = Object.values(c.counts).reduce((a, b) => a + b, 0);
    lines.push(
      `  campaign        ${c.campaign}`,
      `  certificate id  ${c.certificateId}`,
      `  issuer          ${c.issuer}, issued ${c.issuedAt}`,
      `  signing key     ${v.keyId ?? '(none)'}`,
      `  keys destroyed  ${c.keyIdsDestroyed.join(', ')}`,
      ...(c.kmsDestructions.length
        ? c.kmsDestructions.map((k) => `  in the KMS      ${k.keyName} at ${k.destroyedAt}: ${k.answer} (${k.kms})`)
        : ['  in the KMS      (none: a local KEK wrapped the keys; copies of them are not made inert)']),
      `  messages        ${total} (${Object.entries(c.counts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
      `  completed       ${c.completedAt}`,
      `  destroyed       ${c.destroyedAt} (${c.completionToDestructionSeconds} s after completion)`,
      `  topics deleted  ${c.topicsDeleted.length ? c.topicsDeleted.join(', ') : '(none)'}`,
      `  audit heads     ${c.auditHeads.map((h) => `${h.chain} seq ${h.seq} ${short(h.hash)}`).join('; ') || '(none)'}`,
    );
  }
  for (const p of v.problems) lines.push(`  ✗ ${p.kind}${p.field ? ` ${p.field}` : ''}: ${p.reason}`);
  lines.push(
    v.ok
      ? 'VERIFIED: signature valid, schema valid, no personal data'
      : `NOT VERIFIED: ${plural(v.problems.length, 'problem')}`,
  );
  return lines.join('\n');
}

export function formatAuditReport(file: string, r: AuditReport): string {
  const lines = [`Audit log ${file}: ${plural(r.records, 'record')}, ${plural(r.chains.length, 'chain')}`];
  const width = Math.max(5, ...r.chains.map((c) => c.chain.length));
  for (const c of r.chains) {
    const head = c.head ? `head seq ${c.head.seq} ${short(c.head.hash)}` : 'no entries';
    const verdict = c.ok ? 'ok' : `FAILED (${plural(c.issues.length, 'issue')})`;
    lines.push(
      `  ${c.chain.padEnd(width)}  ${plural(c.entries, 'entry').replace('entrys', 'entries')}  ${head}  ${verdict}`,
    );
    for (const i of c.issues)
      lines.push(`    ✗ seq ${i.seq ?? '?'}${i.line ? ` (line ${i.line})` : ''} ${i.kind}: ${i.reason}`);
  }
  for (const i of r.issues.filter((x) => x.kind === 'malformed'))
    lines.push(`  ✗ line ${i.line ?? '?'} malformed${i.chain ? ` (chain ${i.chain})` : ''}: ${i.reason}`);
  lines.push(
    r.ok ? 'VERIFIED: every chain is complete and unaltered' : `NOT VERIFIED: ${plural(r.issues.length, 'issue')}`,
  );
  return lines.join('\n');
}
