// The auditor's verifier:
//   node --import tsx compliance/src/cli.ts verify-certificate <file> --public-key <pem>
//   node --import tsx compliance/src/cli.ts verify-audit <jsonl> [--certificate <file>]… [--expect-head <chain:seq:hash>]…
// Exit codes: 0 verified, 1 verification failed (tampered or invalid), 2 could not check (usage, unreadable input).
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { ChainHead } from './audit-entry.ts';
import { verifyAuditJsonl } from './audit-verify.ts';
import { isJsonObject } from './canonical.ts';
import { certificateProblems, verifyCertificate } from './certificate.ts';
import { formatAuditReport, formatCertificateVerification } from './report-format.ts';
import { loadPublicKey, SigningKeyError } from './signing-key.ts';

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
      let publicKey;
      try {
        publicKey = await loadPublicKey(opts.publicKey);
      } catch (err) {
        if (err instanceof SigningKeyError) throw new CannotCheck(`public key: ${err.message}`);
        throw err;
      }
      const result = verifyCertificate(await readJson(file, 'certificate'), publicKey);
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
