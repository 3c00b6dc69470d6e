// Prometheus for tests: installed from Debian's package into the cache (no root needed
// once the package lists are there), started on demand — not by `stack up` — on a free
// 127.0.0.1 port with a generated config, its own data dir under .stack/, stopped by pid.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { binaries, cacheDir, stateDir } from './paths.ts';
import { freePort, startDaemon, stopPid, waitUntil } from './processes.ts';
import { StackError } from './errors.ts';
import { VERSIONS } from './versions.ts';

type Report = (line: string) => void;

function runQuiet(command: string, args: string[], cwd?: string): { ok: boolean; output: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

const lastLine = (text: string): string => text.split('\n').filter(Boolean).pop() ?? '';

/**
 * The Prometheus binary, from Debian's `prometheus` package unpacked into the cache
 * (`apt-get download` + `dpkg-deb -x`: no service is installed or started). Cached by
 * version; a second call is a stat. One clear line when it cannot be installed.
 */
export async function ensurePrometheus(report: Report = () => undefined): Promise<string> {
  const target = binaries.prometheus();
  if (existsSync(target)) return target;
  const cannot = (why: string): StackError =>
    new StackError(`cannot install Prometheus ${VERSIONS.prometheus} from Debian's 'prometheus' package: ${why}`);
  if (!runQuiet('sh', ['-c', 'command -v apt-get && command -v dpkg-deb']).ok) {
    throw cannot('apt-get and dpkg-deb are needed (a Debian or Ubuntu machine)');
  }
  report(
    `installing Prometheus ${VERSIONS.prometheus} from Debian's package (first run only; cached in ${cacheDir()})`,
  );
  mkdirSync(cacheDir(), { recursive: true });
  const work = mkdtempSync(join(cacheDir(), 'prometheus-download-'));
  try {
    let download = runQuiet('apt-get', ['download', 'prometheus'], work);
    if (!download.ok && typeof process.getuid === 'function' && process.getuid() === 0) {
      // A fresh machine has no package lists yet; as root we may fetch them once.
      report('apt-get update (no package lists yet)');
      runQuiet('apt-get', ['update', '-qq']);
      download = runQuiet('apt-get', ['download', 'prometheus'], work);
    }
    if (!download.ok) throw cannot(`${lastLine(download.output)} (run 'apt-get update' as root first)`);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw cannot('apt-get download left no .deb');
    const unpacked = join(work, 'root');
    const extract = runQuiet('dpkg-deb', ['-x', join(work, deb), unpacked]);
    if (!extract.ok) throw cannot(lastLine(extract.output));
    const binary = join(unpacked, 'usr', 'bin', 'prometheus');
    const version = runQuiet(binary, ['--version']);
    if (!version.ok) throw cannot(`the packaged binary does not run: ${lastLine(version.output)}`);
    if (!version.output.includes(`version ${VERSIONS.prometheus}`)) {
      throw cannot(
        `Debian offers '${version.output.split('\n')[0]}', the stack pins ${VERSIONS.prometheus} (stack/src/versions.ts)`,
      );
    }
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(binary, `${target}.partial`);
    chmodSync(`${target}.partial`, 0o755);
    // Renamed into place last, so an interrupted install never leaves a half-copied binary.
    renameSync(`${target}.partial`, target);
    report(`installed Prometheus ${VERSIONS.prometheus}`);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusTarget {
  scrapeUrl: string;
  health: string;
  lastError: string;
  /** The target's labels after relabelling (instance, job, and those its discovery gave it). */
  labels: Record<string, string>;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  url: string;
  pid: number;
  dir: string;
  /** An instant query through the HTTP API (`/api/v1/query`); vector results. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** Polls `query` until it returns at least one sample (or `enough` says so). */
  waitFor(promql: string, enough?: (s: PrometheusSample[]) => boolean, timeoutMs?: number): Promise<PrometheusSample[]>;
  /** The scrape targets' health as Prometheus sees it (`/api/v1/targets`). */
  targets(): Promise<PrometheusTarget[]>;
  /** Writes everything stored so far, head included, as a TSDB block on disk; returns its directory. */
  snapshot(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** host:port of each /metrics endpoint to scrape. */
  targets?: string[];
  /**
   * Files of targets Prometheus re-reads as they change (`file_sd_configs`: JSON lists of
   * `{targets, labels}`), e.g. the local runner's worker pods (`LocalRunner.metricsTargetsFile()`).
   */
  targetFiles?: string[];
  scrapeIntervalSeconds?: number;
  /** A name for its directory under .stack/prometheus/ (default: prometheus). */
  name?: string;
  /** Keep the data dir after stop (for a look at a failed test). */
  keep?: boolean;
}

const yamlList = (items: string[]): string => `[${items.map((t) => JSON.stringify(t)).join(', ')}]`;

function config(targets: string[], targetFiles: string[], interval: number): string {
  return [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${interval}s`,
    `  evaluation_interval: ${interval}s`,
    'scrape_configs:',
    '  - job_name: anshim',
    ...(targets.length > 0 ? ['    static_configs:', `      - targets: ${yamlList(targets)}`] : []),
    ...(targetFiles.length > 0
      ? ['    file_sd_configs:', `      - files: ${yamlList(targetFiles)}`, `        refresh_interval: ${interval}s`]
      : []),
    '',
  ].join('\n');
}

/** Starts a Prometheus of its own for one test: free port, generated config, own data dir. */
export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  const binary = await ensurePrometheus();
  const root = join(stateDir(), 'prometheus');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, `${opts.name ?? 'prometheus'}-`));
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  writeFileSync(configFile, config(opts.targets ?? [], opts.targetFiles ?? [], opts.scrapeIntervalSeconds ?? 1));
  const port = await freePort();
  const pid = startDaemon({
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
      // For snapshot(): this Prometheus is a test's own, on 127.0.0.1.
      '--web.enable-admin-api',
    ],
    logFile,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopPid(pid, configFile, 10_000);
    if (opts.keep) return;
    rmSync(dir, { recursive: true, force: true });
    // The shared parent goes with the last one (rmdir refuses while another test's dir is there).
    try {
      rmdirSync(root);
    } catch {
      // still in use
    }
  };
  try {
    await waitUntil('Prometheus', async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, pid, logFile });
  } catch (err) {
    await stop();
    throw err;
  }

  const api = async <T>(path: string, method = 'GET'): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new StackError(`Prometheus ${path}: ${body.error ?? res.status}`, logFile);
    return body.data;
  };
  const query = async (promql: string): Promise<PrometheusSample[]> => {
    const data = await api<{ resultType: string; result: PrometheusSample[] }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    return data.result;
  };
  return {
    url,
    pid,
    dir,
    query,
    waitFor: async (promql, enough = (s) => s.length > 0, timeoutMs = 30_000) => {
      let last: PrometheusSample[] = [];
      await waitUntil(
        `Prometheus series for ${promql}`,
        async () => {
          last = await query(promql);
          return enough(last);
        },
        { timeoutMs, pid, logFile },
      );
      return last;
    },
    targets: async () => (await api<{ activeTargets: PrometheusTarget[] }>('/api/v1/targets')).activeTargets,
    snapshot: async () =>
      join(dir, 'data', 'snapshots', (await api<{ name: string }>('/api/v1/admin/tsdb/snapshot', 'POST')).name),
    stop,
  };
}
