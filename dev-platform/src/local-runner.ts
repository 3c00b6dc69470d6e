import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '@anshim/core';
import { buildWorkerBundle } from '@anshim/worker/bundle';
import { WORKER_BUNDLE_MAIN, CONFIG_HASH, WORKER_APP } from '@anshim/api';

interface LocalPod {
  name: string;
  namespace: string;
  deployment: string;
  hash: string;
  /** Where this pod serves /metrics on this machine (its ready line says), when its template asks for metrics. */
  metricsUrl?: string;
  child: ChildProcess;
  dir: string;
  ready: boolean;
  stopping: boolean;
  exited: Promise<void>;
}

export interface LocalRunnerOptions {
  /** Where mounted Secrets are materialised (per pod, removed when it exits) and pod logs are written. */
  rootDir: string;
  namespace?: string;
  log: Logger;
  pollMs?: number;
  /** Where pod commands run: the repository root, which stands in for the image's /app. */
  cwd?: string;
}

/** A scrape target as Prometheus' file-based discovery reads it (`file_sd_configs`). */
export interface ScrapeTarget {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * A kubelet and Deployment controller for one laptop: runs each anshim-worker Deployment's
 * replicas as local processes from its pod template (command, env, Secret volumes), follows
 * the replica count the operator sets, rolls pods when the template's config hash changes,
 * restarts crashed ones with back-off, and writes the Deployment's status.
 *
 * Pods here share one network namespace, so a template's metrics port (ANSHIM_METRICS_PORT) would
 * collide: each pod binds a free port on 127.0.0.1 instead, and the runner keeps the pods' scrape
 * targets in a file Prometheus' file-based discovery reads (`metricsTargetsFile()`).
 */
export class LocalRunner {
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly pods = new Map<string, LocalPod[]>();
  private readonly crashes = new Map<string, { count: number; until: number }>();
  /** Every pod that ever reported ready, by Deployment: history a test can ask for after the fact. */
  private readonly readyEver = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> = Promise.resolve();
  private stopped = false;
  private bundle: Promise<string> | undefined;

  constructor(
    kc: k8s.KubeConfig,
    private readonly o: LocalRunnerOptions,
  ) {
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    mkdirSync(join(o.rootDir, 'logs'), { recursive: true, mode: 0o700 });
    this.writeMetricsTargets();
  }

  start(): void {
    const tick = () => {
      this.loop = this.loop
        .then(() => this.sync())
        .catch((err: Error) => this.o.log.warn({ err: err.message }, 'local runner sync failed'));
      void this.loop.then(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.pollMs ?? 1000);
      });
    };
    tick();
  }

  /** Stops every pod it started (SIGTERM: the workers drain and commit), then returns. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    const all = [...this.pods.values()].flat();
    for (const pod of all) this.terminate(pod);
    await Promise.all(all.map((p) => p.exited));
    const bundle = await this.bundle?.catch(() => undefined);
    if (bundle) rmSync(dirname(bundle), { recursive: true, force: true });
  }

  /** Pods (processes) per Deployment, for progress displays. */
  snapshot(): Array<{ deployment: string; pods: number; ready: number }> {
    return [...this.pods].map(([deployment, pods]) => ({
      deployment,
      pods: pods.filter((p) => !p.stopping).length,
      ready: pods.filter((p) => p.ready && !p.stopping).length,
    }));
  }

  /**
   * How many pods of each Deployment (`<namespace>/<name>`) ever became ready, those long gone
   * included: a campaign that finishes between two looks at snapshot() still shows its workers ran.
   */
  podsEverReady(): Record<string, number> {
    return Object.fromEntries(this.readyEver);
  }

  logDir(): string {
    return join(this.o.rootDir, 'logs');
  }

  /** The running pods' /metrics endpoints, with the labels a Kubernetes pod discovery would give them. */
  metricsTargets(): ScrapeTarget[] {
    return [...this.pods.values()].flat().flatMap((pod) => {
      if (!pod.metricsUrl || pod.child.exitCode !== null || pod.child.signalCode !== null) return [];
      const url = new URL(pod.metricsUrl);
      return [
        {
          targets: [url.host],
          labels: {
            __metrics_path__: url.pathname,
            namespace: pod.namespace,
            pod: pod.name,
            deployment: pod.deployment,
          },
        },
      ];
    });
  }

  /** `metricsTargets()` as a JSON file, replaced whenever a pod starts serving or exits: a `file_sd_configs` file. */
  metricsTargetsFile(): string {
    return join(this.o.rootDir, 'prometheus-targets.json');
  }

  private writeMetricsTargets(): void {
    const file = this.metricsTargetsFile();
    try {
      // Renamed into place, so Prometheus never reads a half-written file.
      writeFileSync(`${file}.partial`, JSON.stringify(this.metricsTargets(), null, 2), { mode: 0o600 });
      renameSync(`${file}.partial`, file);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'scrape targets not written');
    }
  }

  private async sync(): Promise<void> {
    const labelSelector = `app.kubernetes.io/name=${WORKER_APP}`;
    const list = this.o.namespace
      ? await this.apps.listNamespacedDeployment({ namespace: this.o.namespace, labelSelector })
      : await this.apps.listDeploymentForAllNamespaces({ labelSelector });
    const seen = new Set<string>();
    for (const d of list.items) {
      const key = `${d.metadata!.namespace}/${d.metadata!.name}`;
      seen.add(key);
      await this.syncDeployment(key, d);
    }
    for (const [key, pods] of this.pods) {
      if (seen.has(key)) continue;
      for (const pod of pods) this.terminate(pod);
      if (pods.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)) this.pods.delete(key);
    }
  }

  private async syncDeployment(key: string, d: k8s.V1Deployment): Promise<void> {
    const desired = d.spec?.replicas ?? 1;
    const hash = d.spec?.template.metadata?.annotations?.[CONFIG_HASH] ?? '';
    const pods = (this.pods.get(key) ?? []).filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const old of pods.filter((p) => p.hash !== hash)) this.terminate(old);
    const current = pods.filter((p) => p.hash === hash && !p.stopping);
    for (const extra of current.slice(desired)) this.terminate(extra);
    const crash = this.crashes.get(key);
    if (current.length < desired && (!crash || crash.until <= Date.now())) {
      for (let i = current.length; i < desired; i++) pods.push(await this.startPod(key, d, hash));
    }
    this.pods.set(key, pods);
    const live = pods.filter((p) => p.hash === hash && !p.stopping);
    const ready = live.filter((p) => p.ready).length;
    const status: k8s.V1DeploymentStatus = {
      observedGeneration: d.metadata?.generation,
      replicas: live.length,
      updatedReplicas: live.length,
      readyReplicas: ready,
      availableReplicas: ready,
    };
    const s = d.status ?? {};
    if (
      s.replicas !== status.replicas ||
      s.readyReplicas !== status.readyReplicas ||
      s.observedGeneration !== status.observedGeneration
    ) {
      await this.apps.patchNamespacedDeploymentStatus(
        { namespace: d.metadata!.namespace!, name: d.metadata!.name!, body: { status } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
  }

  /**
   * The worker image runs a bundle built with the image (worker/dist/main.mjs). Here, as a node
   * pulls an image once, the runner builds it once from the working tree into a directory of its
   * own (removed by stop()), so pods run the code under test and runners never share a file.
   */
  private async imageCommand(command: string[]): Promise<string[]> {
    const at = command.indexOf(WORKER_BUNDLE_MAIN);
    if (at < 0) return command;
    const cwd = this.o.cwd ?? process.cwd();
    this.bundle ??= buildWorkerBundle(
      join(cwd, 'worker', 'dist', `local-runner-${process.pid}-${randomBytes(3).toString('hex')}`),
    ).then(
      ({ main }) => main,
      (err: Error) => {
        this.bundle = undefined; // the next pod start tries again
        throw err;
      },
    );
    const main = await this.bundle;
    return command.map((arg, i) => (i === at ? main : arg));
  }

  private terminate(pod: LocalPod): void {
    if (pod.stopping) return;
    pod.stopping = true;
    if (pod.child.exitCode === null && pod.child.signalCode === null) pod.child.kill('SIGTERM');
  }

  /** Materialises the pod's Secret volumes under its own directory and starts its container's command. */
  private async startPod(key: string, d: k8s.V1Deployment, hash: string): Promise<LocalPod> {
    const namespace = d.metadata!.namespace!;
    const podSpec = d.spec!.template.spec!;
    const container = podSpec.containers[0]!;
    const name = `${d.metadata!.name}-${randomBytes(3).toString('hex')}`;
    const dir = join(this.o.rootDir, 'pods', name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const mount of container.volumeMounts ?? []) {
      const volume = podSpec.volumes?.find((v) => v.name === mount.name);
      const data = volume?.secret?.secretName
        ? (await this.core.readNamespacedSecret({ namespace, name: volume.secret.secretName })).data
        : undefined;
      const target = join(dir, mount.mountPath);
      mkdirSync(target, { recursive: true, mode: 0o700 });
      for (const [file, b64] of Object.entries(data ?? {}))
        writeFileSync(join(target, file), Buffer.from(b64, 'base64'), { mode: 0o400 });
    }
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    for (const e of container.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = e.value ?? (field === 'metadata.name' ? name : field === 'metadata.namespace' ? namespace : '');
    }
    env.ANSHIM_FS_ROOT = dir;
    if (env.ANSHIM_METRICS_PORT) {
      // The template's port is per pod in a cluster; here every pod would bind the same one.
      env.ANSHIM_METRICS_PORT = '0';
      env.ANSHIM_METRICS_HOST = '127.0.0.1';
    }
    const [cmd, ...args] = await this.imageCommand(container.command ?? []);
    const child = spawn(cmd === 'node' ? process.execPath : (cmd ?? process.execPath), args, {
      cwd: this.o.cwd ?? process.cwd(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logFile = createWriteStream(join(this.logDir(), `${name}.log`), { flags: 'a', mode: 0o600 });
    child.stderr!.pipe(logFile);
    const pod: LocalPod = {
      name,
      namespace,
      deployment: d.metadata!.name!,
      hash,
      child,
      dir,
      ready: false,
      stopping: false,
      exited: Promise.resolve(),
    };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logFile.write(`${line}\n`);
      if (pod.ready || !line.includes('"ready":true')) return;
      pod.ready = true;
      this.readyEver.set(key, (this.readyEver.get(key) ?? 0) + 1);
      pod.metricsUrl = readyLineMetrics(line);
      if (pod.metricsUrl) this.writeMetricsTargets();
    });
    pod.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        // The mounted Secrets go with the pod, as a tmpfs would.
        rmSync(dir, { recursive: true, force: true });
        if (pod.metricsUrl) this.writeMetricsTargets();
        if (!pod.stopping) {
          const c = this.crashes.get(key) ?? { count: 0, until: 0 };
          c.count++;
          c.until = Date.now() + Math.min(30_000, 500 * 2 ** c.count);
          this.crashes.set(key, c);
          this.o.log.warn({ pod: name, code, signal, restarts: c.count }, 'local pod exited; restarting with back-off');
        }
        logFile.end();
        resolve();
      }),
    );
    this.o.log.info({ pod: name, deployment: key }, 'local pod started');
    return pod;
  }
}

/** The `metrics` URL of a process's ready line (`{"ready":true,…,"metrics":"http://127.0.0.1:…/metrics"}`). */
function readyLineMetrics(line: string): string | undefined {
  try {
    const { metrics } = JSON.parse(line) as { metrics?: unknown };
    return typeof metrics === 'string' ? metrics : undefined;
  } catch {
    return undefined;
  }
}
