import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { binaries, stateDir } from './paths.ts';
import { ensureEtcd, ensureK6AndHelm, ensureKafkaJars, ensureKubernetesBinaries, type Report } from './builds.ts';
import { grantComponents, kafkaHealthy, kafkaRunning, stackSasl, startKafka, stopKafka } from './kafka.ts';
import {
  apiServerReady,
  apiServerRunning,
  etcdHealthy,
  etcdRunning,
  startApiServer,
  startEtcd,
  stopApiServer,
  stopEtcd,
  writeKubeconfig,
} from './kube.ts';
import { ensureOpenBao, kmsHealthy, kmsRunning, startKms, stopKms } from './kms.ts';
import { isAlive } from './processes.ts';
import { readState, writeState, type KafkaPrincipal, type StackState } from './state.ts';
import { StackError } from './errors.ts';

/** Serialises `up`/`down` between processes (two test runs, a test and `npm start`). */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const dir = stateDir();
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'stack.lock');
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8') || '0');
      if (!holder || !isAlive(holder)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new StackError(`stack is locked by pid ${holder}`);
      else await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Builds or fetches whatever is missing from the cache; a warm cache makes this a no-op. */
export async function install(report: Report): Promise<void> {
  // Maven is network-bound and Go is CPU-bound: overlap them.
  await Promise.all([
    ensureKafkaJars(report),
    ensureOpenBao(report),
    (async () => {
      await ensureEtcd(report);
      await ensureKubernetesBinaries(report);
      await ensureK6AndHelm(report);
    })(),
  ]);
}

export async function up(report: Report = () => undefined): Promise<StackState> {
  return withLock(async () => {
    await install(report);
    const dir = stateDir();
    const previous = readState();
    const state: StackState = { version: 1, startedAt: previous?.startedAt ?? new Date().toISOString() };
    const pki = join(dir, 'pki');

    const kafkaUp =
      previous?.kafka &&
      kafkaRunning(previous.kafka) &&
      (await kafkaHealthy(previous.kafka.brokers, previous.kafka.users).catch(() => false));
    if (kafkaUp && previous?.kafka) state.kafka = previous.kafka;
    else {
      // Running but not answering (or from before the stack authenticated): it holds the port.
      if (previous?.kafka && kafkaRunning(previous.kafka)) await stopKafka(previous.kafka);
      report('starting Kafka (KRaft)');
      state.kafka = await startKafka(dir, previous?.kafka);
    }
    // Every `up`, not only a fresh broker's: the grants of this checkout take effect on a running stack.
    if (state.kafka.users) await grantComponents(state.kafka.brokers, state.kafka.users);
    writeState({ ...previous, ...state });

    const etcdUp = previous?.etcd && etcdRunning(previous.etcd) && (await etcdHealthy(previous.etcd.endpoint));
    if (etcdUp && previous?.etcd) state.etcd = previous.etcd;
    else {
      report('starting etcd');
      state.etcd = await startEtcd(dir, previous?.etcd);
    }
    writeState({ ...previous, ...state });

    const apiUp =
      previous?.apiserver &&
      apiServerRunning(previous.apiserver) &&
      (await apiServerReady(previous.apiserver.url, pki));
    if (apiUp && previous?.apiserver) state.apiserver = previous.apiserver;
    else {
      report('starting kube-apiserver');
      state.apiserver = await startApiServer(dir, state.etcd, pki, previous?.apiserver);
    }
    const kmsUp = previous?.kms && kmsRunning(previous.kms) && (await kmsHealthy(previous.kms));
    if (kmsUp && previous?.kms) state.kms = previous.kms;
    else {
      if (previous?.kms && kmsRunning(previous.kms)) await stopKms(previous.kms);
      report('starting OpenBao (KMS)');
      state.kms = await startKms({ dir: join(dir, 'kms'), previous: previous?.kms });
    }
    state.pki = pki;
    state.kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(state.kubeconfig, state.apiserver.url, pki);
    state.tools = { kubectl: binaries.kubectl(), k6: binaries.k6(), helm: binaries.helm() };
    writeState(state);
    return state;
  });
}

/** Stops only the processes this stack started (by pid) and, unless `keep`, removes their data. */
export async function down(opts: { keep?: boolean } = {}): Promise<void> {
  await withLock(async () => {
    const state = readState();
    if (state?.kms) await stopKms(state.kms);
    if (state?.apiserver) await stopApiServer(state.apiserver);
    if (state?.etcd) await stopEtcd(state.etcd);
    if (state?.kafka) await stopKafka(state.kafka);
    if (!opts.keep) {
      const dir = stateDir();
      for (const entry of ['kafka', 'etcd', 'apiserver', 'kms', 'pki', 'kubeconfig', 'stack.json']) {
        rmSync(join(dir, entry), { recursive: true, force: true });
      }
    }
  });
}

/** Stops and starts the Kafka broker on the same port and data (a broker restart, for fault tests). */
export async function restartKafka(): Promise<void> {
  await withLock(async () => {
    const state = readState();
    if (!state?.kafka) throw new StackError('the stack is not up: run `npm run stack -- up`');
    await stopKafka(state.kafka);
    state.kafka = await startKafka(stateDir(), state.kafka);
    writeState(state);
  });
}

export interface ServiceStatus {
  name: string;
  running: boolean;
  healthy: boolean;
  endpoint: string;
  pid?: number;
}

export async function status(): Promise<ServiceStatus[]> {
  const s = readState();
  const pki = s?.pki ?? join(stateDir(), 'pki');
  return [
    {
      name: 'kafka',
      endpoint: s?.kafka?.brokers.join(',') ?? '-',
      pid: s?.kafka?.pid,
      running: !!s?.kafka && kafkaRunning(s.kafka),
      healthy: !!s?.kafka && (await kafkaHealthy(s.kafka.brokers, s.kafka.users).catch(() => false)),
    },
    {
      name: 'etcd',
      endpoint: s?.etcd?.endpoint ?? '-',
      pid: s?.etcd?.pid,
      running: !!s?.etcd && etcdRunning(s.etcd),
      healthy: !!s?.etcd && (await etcdHealthy(s.etcd.endpoint)),
    },
    {
      name: 'kube-apiserver',
      endpoint: s?.apiserver?.url ?? '-',
      pid: s?.apiserver?.pid,
      running: !!s?.apiserver && apiServerRunning(s.apiserver),
      healthy: !!s?.apiserver && existsSync(pki) && (await apiServerReady(s.apiserver.url, pki)),
    },
    {
      name: 'kms (openbao)',
      endpoint: s?.kms?.address ?? '-',
      pid: s?.kms?.pid,
      running: !!s?.kms && kmsRunning(s.kms),
      healthy: !!s?.kms && (await kmsHealthy(s.kms)),
    },
  ];
}

/** The running stack, for tests and tools; a clear error when it is not up. */
export function requireStack(): Required<
  Pick<StackState, 'kafka' | 'etcd' | 'apiserver' | 'kms' | 'kubeconfig' | 'pki' | 'tools'>
> &
  StackState {
  const s = readState();
  if (!s?.kafka || !s.etcd || !s.apiserver || !s.kms || !s.kubeconfig || !s.pki || !s.tools) {
    throw new StackError('the local stack is not up: run `npm run stack -- up` (npm test does this itself)');
  }
  return s as ReturnType<typeof requireStack>;
}

/**
 * How a client reaches the stack's Kafka as one of its users: `admin` (a super user) for tests
 * and tools, or a component's user, which holds only that component's grants.
 */
export function kafkaAccess(principal: KafkaPrincipal = 'admin'): {
  brokers: string[];
  sasl: ReturnType<typeof stackSasl>;
} {
  const { kafka } = requireStack();
  if (!kafka.users) throw new StackError("the stack's Kafka predates authentication: run `npm run stack -- up`");
  return { brokers: kafka.brokers, sasl: stackSasl(kafka.users, principal) };
}
