// The auditor's verifier:
//   node --import tsx compliance/src/cli.ts verify-certificate <file> --public-key <pem>
//   node --import tsx compliance/src/cli.ts verify-audit <jsonl> [--certificate <file>]… [--expect-head <chain:seq:hash>]…
//   node --import tsx compliance/src/cli.ts verify-shredded <file> --public-key <pem> --kms-address <url> --kms-token-file <f>
//        [--etcd <endpoint>] [--evidence <file>]…
// Exit codes: 0 verified, 1 verification failed (tampered or invalid), 2 could not check (usage, unreadable input).
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { keySecretName } from '@anshim/api';
import type { ChainHead } from './audit-entry.ts';
import { verifyAuditJsonl } from './audit-verify.ts';
import { isJsonObject } from './canonical.ts';
import { certificateProblems, verifyCertificate } from './certificate.ts';
import { formatAuditReport, formatCertificateVerification } from './report-format.ts';
import { loadPublicKey, SigningKeyError } from './signing-key.ts';
import { TransitClient } from '@anshim/kms';
import { keyHistory, EtcdHistoryError } from './etcd-history.ts';
import { checkShredded, formatShreddedCheck, type EvidenceItem } from './shredded.ts';

export const EXIT = { verified: 0, notVerified: 1, cannotCheck: 2 } as const;

/** A problem with the input itself, not with what it attests: exit 2. */
class CannotCheck extends Error {}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CannotCheck(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readText(file, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new CannotCheck(`${what} ${file} is not JSON`);
  }
}

function parseHead(value: string, previous: ChainHead[] = []): ChainHead[] {
  const m = /^([^:]+(?::[^:]+)*):(\d+):([0-9a-f]{64})$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected <chain>:<seq>:<64 hex hash>');
  return [...previous, { chain: m[1]!, seq: Number(m[2]), hash: m[3]! }];
}

async function publicKeyOf(file: string) {
  try {
    return await loadPublicKey(file);
  } catch (err) {
    if (err instanceof SigningKeyError) throw new CannotCheck(`public key: ${err.message}`);
    throw err;
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function headsFromCertificates(files: string[]): Promise<ChainHead[]> {
  const heads: ChainHead[] = [];
  for (const file of files) {
    const doc = await readJson(file, 'certificate');
    const certificate = isJsonObject(doc) ? doc.certificate : undefined;
    if (certificateProblems(certificate).some((p) => p.kind === 'schema'))
      throw new CannotCheck(`${file} is not a destruction certificate (check it with verify-certificate)`);
    heads.push(...(certificate as { auditHeads: ChainHead[] }).auditHeads);
  }
  return heads;
}

export function createProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('anshim-compliance')
    .description('Verify Anshim destruction certificates and audit logs.')
    .addHelpText(
      'after',
      '\nExit codes: 0 verified, 1 verification failed, 2 could not check (usage or unreadable input).',
    )
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError();

  program
    .command('verify-certificate')
    .description('check a destruction certificate: Ed25519 signature, schema, consistency, no personal data')
    .argument('<file>', 'the signed certificate (JSON)')
    .requiredOption('--public-key <pem>', "the operator's Ed25519 public key (SPKI PEM)")
    .option('--json', 'print the verification as JSON')
    .action(async (file: string, opts: { publicKey: string; json?: boolean }) => {
      const result = verifyCertificate(await readJson(file, 'certificate'), await publicKeyOf(opts.publicKey));
      io.out(opts.json ? JSON.stringify(result, null, 2) : formatCertificateVerification(file, result));
      setExit(result.ok ? EXIT.verified : EXIT.notVerified);
    });

  program
    .command('verify-audit')
    .description('check an audit log (JSONL): every chain complete, in order, unaltered, free of personal data')
    .argument('<file>', 'the audit log, one entry a line')
    .option('--certificate <file>', 'also require the chain heads this certificate cites (repeatable)', collect)
    .option('--expect-head <chain:seq:hash>', 'also require this chain head (repeatable)', parseHead)
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { certificate?: string[]; expectHead?: ChainHead[]; json?: boolean }) => {
      const expectedHeads = [...(opts.expectHead ?? []), ...(await headsFromCertificates(opts.certificate ?? []))];
      const report = verifyAuditJsonl(await readText(file, 'audit log'), { expectedHeads });
      io.out(opts.json ? JSON.stringify(report, null, 2) : formatAuditReport(file, report));
      setExit(report.ok ? EXIT.verified : EXIT.notVerified);
    });

  program
    .command('verify-shredded')
    .description(
      "check against the running KMS that a certificate's campaign keys no longer exist and that no wrapped data key (etcd history, backup files) unwraps",
    )
    .argument('<file>', 'the signed certificate (JSON)')
    .requiredOption('--public-key <pem>', "the operator's Ed25519 public key (SPKI PEM)")
    .requiredOption('--kms-address <url>', 'the KMS API (OpenBao / Vault)')
    .requiredOption('--kms-token-file <file>', 'a token that may read campaign key metadata (policy anshim-auditor)')
    .option('--kms-mount <path>', 'the transit engine mount', 'transit')
    .option('--etcd <endpoint>', "read every revision etcd holds of the campaign's key Secret")
    .option('--etcd-revision <n>', 'start the walk at this revision (the Secret deleted since)')
    .option('--evidence <file>', 'also try the wrapped keys in this file (a backup, a dump; repeatable)', collect)
    .action(
      async (
        file: string,
        opts: {
          publicKey: string;
          kmsAddress: string;
          kmsTokenFile: string;
          kmsMount: string;
          etcd?: string;
          etcdRevision?: string;
          evidence?: string[];
        },
      ) => {
        const verification = verifyCertificate(await readJson(file, 'certificate'), await publicKeyOf(opts.publicKey));
        if (!verification.ok || !verification.certificate) {
          io.out(formatCertificateVerification(file, verification));
          setExit(EXIT.notVerified);
          return;
        }
        const certificate = verification.certificate;
        const evidence: EvidenceItem[] = [];
        for (const f of opts.evidence ?? [])
          evidence.push({
            source: f,
            bytes: await readFile(f).catch((err: NodeJS.ErrnoException) => {
              throw new CannotCheck(`cannot read evidence ${f}: ${err.code ?? 'error'}`);
            }),
          });
        if (opts.etcd) {
          const dot = certificate.campaign.indexOf('.');
          const key = `/registry/secrets/${certificate.campaign.slice(0, dot)}/${keySecretName(certificate.campaign.slice(dot + 1))}`;
          try {
            const { revisions, compacted } = await keyHistory(
              opts.etcd,
              key,
              opts.etcdRevision ? Number(opts.etcdRevision) : undefined,
            );
            for (const r of revisions) evidence.push({ source: `etcd ${key} @${r.modRevision}`, bytes: r.value });
            io.out(`etcd holds ${revisions.length} revision(s) of ${key}${compacted ? ' (older ones compacted)' : ''}`);
          } catch (err) {
            if (err instanceof EtcdHistoryError) throw new CannotCheck(err.message);
            throw err;
          }
        }
        let client: TransitClient;
        try {
          client = new TransitClient({
            address: opts.kmsAddress,
            token: (await readText(opts.kmsTokenFile, 'KMS token')).trim(),
          });
        } catch (err) {
          throw new CannotCheck((err as Error).message);
        }
        const check = await checkShredded(certificate, client, evidence, opts.kmsMount);
        io.out(formatShreddedCheck(file, check));
        setExit(check.cannotCheck ? EXIT.cannotCheck : check.ok ? EXIT.verified : EXIT.notVerified);
      },
    );

  return program;
}

/** Runs the CLI on `args` (without node and script); resolves with the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  let code: number = EXIT.cannotCheck;
  const program = createProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.verified : EXIT.cannotCheck;
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.cannotCheck;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const io: CliIo = {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
}
