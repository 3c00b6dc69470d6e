// What the worker benchmarks share: processes started as their pods run them, their CPU and
// memory read from /proc, and the carrier simulators' ledger of accepted messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { carrierKeyFromFleetSecret, LocalKekProvider, type DataKey } from '@anshim/core';
import { carrierTlsFiles, repoRoot, requireStack, workerKafkaFile } from '@anshim/dev-platform';
import { workerGroupId, type CampaignSpec } from '@anshim/api';
import type { WorkerFile } from '../src/config-file.ts';
import { WORKER_BUNDLE_MAIN } from '../src/bundle.ts';

export const MNOS = ['skt', 'kt', 'lguplus'] as const;

export interface BenchCarriers {
  child: ChildProcess;
  ports: Record<string, { port: number }>;
  adminPort: number;
  fleetSecret: string;
  tls: ReturnType<typeof carrierTlsFiles>;
}

/** The three mobile operators' simulators in one process (mTLS, an admin port for the ledger). */
export async function startBenchCarriers(
  work: string,
  defaults: Record<string, unknown>,
  start: (name: string, script: string, argv: string[], env: NodeJS.ProcessEnv) => ChildProcess,
): Promise<BenchCarriers> {
  const tls = carrierTlsFiles();
  const fleetSecret = randomBytes(32).toString('hex');
  const simConfig = join(work, 'simulators.json');
  writeFileSync(
    simConfig,
    JSON.stringify({
      host: '127.0.0.1',
      tls: { ca: tls.ca, cert: tls.server.cert, key: tls.server.key },
      admin: { port: 0 },
      defaults,
      carriers: Object.fromEntries(MNOS.map((c) => [c, {}])),
    }),
  );
  const child = start('simulators', 'simulator/src/main.ts', [simConfig], { ANSHIM_SIM_PSK_HEX: fleetSecret });
  const ready = JSON.parse(await firstLine(child)) as {
    carriers: Record<string, { port: number }>;
    admin: { port: number };
  };
  return { child, ports: ready.carriers, adminPort: ready.admin.port, fleetSecret, tls };
}

/** A worker file for one campaign against the bench carriers, its data key wrapped under a fresh KEK. */
export async function benchWorkerFile(
  work: string,
  carriers: BenchCarriers,
  spec: CampaignSpec,
  dataKey: DataKey,
  topic: string,
): Promise<WorkerFile> {
  const kekMaterial = randomBytes(32);
  writeFileSync(join(work, 'kek.hex'), kekMaterial.toString('hex'), { mode: 0o600 });
  const { tls } = carriers;
  return {
    brokers: requireStack().kafka.brokers,
    ...workerKafkaFile(work),
    groupId: workerGroupId(spec.id),
    topics: [topic],
    carriers: Object.fromEntries(MNOS.map((c) => [c, { address: `127.0.0.1:${carriers.ports[c]!.port}` }])),
    carrierKeys: MNOS.map((c) => {
      const k = carrierKeyFromFleetSecret(c, Buffer.from(carriers.fleetSecret, 'hex'));
      return { carrier: c, id: k.id, materialHex: k.material.toString('hex') };
    }),
    tls: { caFile: tls.ca, certFile: tls.client.cert, keyFile: tls.client.key, serverName: 'localhost' },
    kek: { id: 'bench-kek', file: join(work, 'kek.hex') },
    campaigns: [
      {
        spec,
        wrappedKeys: [(await new LocalKekProvider('bench-kek', kekMaterial).wrap(dataKey, spec.id)).toString('base64')],
      },
    ],
  };
}

/** Runs a benchmark's main and exits with its outcome (the stack and the processes it left are stopped by it). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`[bench] ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

const CLK_TCK = 100;

export interface Sample {
  cpuSeconds: number;
  rssMb: number;
}

export function sample(pid: number): Sample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpuSeconds: cpu, rssMb: Number(rss ?? 0) / 1024 };
  } catch {
    return undefined;
  }
}

export function startBenchProcess(
  opts: { bundle: boolean; workerFlags: string[] },
  name: string,
  script: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
): ChildProcess {
  const out = openSync(join(logDir, `${name}.log`), 'a');
  // ANSHIM_BENCH_PROFILE=dir writes V8 CPU profiles of every process (and thread) to dir.
  const profile = process.env.ANSHIM_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ANSHIM_BENCH_PROFILE}`]
    : [];
  // --bundle on: the worker runs as its pod does (WORKER_COMMAND: the bundle and its flags).
  const worker = script.startsWith('worker/');
  const entry =
    worker && opts.bundle
      ? [...opts.workerFlags, join(repoRoot, WORKER_BUNDLE_MAIN)]
      : [...(worker ? opts.workerFlags : []), '--import', 'tsx', join(repoRoot, script)];
  return spawn(process.execPath, [...profile, ...entry, ...argv], {
    cwd: repoRoot,
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', out],
  });
}

export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before it was ready`)));
  });
}

export async function ledgerAccepted(adminPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/ledger`);
  const body = (await res.json()) as { carriers: Record<string, { accepted: number }> };
  return Object.values(body.carriers).reduce((n, c) => n + (c.accepted ?? 0), 0);
}
