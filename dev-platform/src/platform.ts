// The platform on one machine, in a namespace of its own: the CRDs, fresh key material, the
// carrier simulators (mTLS), the fleet's Secrets and MessagingFleet, the operator, the local
// runner that plays kubelet for worker Deployments, and the gateway. The quick start and the
// load-test runner both stand on it; `stop` stops everything it started, by pid.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { carrierKeyFromFleetSecret, createLogger, type CarrierId } from '@anshim/core';
import { LocalRunner } from './local-runner.ts';
import { GROUP, VERSION } from '@anshim/api';
import { LocalCa, repoRoot, requireStack } from '@anshim/stack';
import { serviceAccountToken } from './callers.ts';
import { kafkaEnv, WORKER_KAFKA_SECRET, workerKafkaSecretData } from './data-plane.ts';
import { startProcess, stopProcess, type Started } from './processes.ts';
import { kekArgs } from './control-plane.ts';

export interface LocalPlatformOptions {
  namespace: string;
  /** Run files: keys, logs, certificates, the runner's pods. */
  dir: string;
  carriers: CarrierId[];
  /** Simulator knobs for every carrier and per carrier (simulator/src/config.ts). */
  simulatorDefaults?: Record<string, unknown>;
  simulatorCarriers?: Record<string, Record<string, unknown>>;
  scaling: { lagPerReplica: number; cooldownSeconds: number; pollSeconds: number };
}

export interface LocalPlatform {
  namespace: string;
  dir: string;
  kc: k8s.KubeConfig;
  gatewayUrl: string;
  /** A bearer token of the namespace's sending system (ServiceAccount `sender`, role anshim-sender). */
  senderToken: string;
  /** A bearer token of the 080 provider (ServiceAccount `optout-line`, anshim-optout-recorder cluster-wide). */
  optOutToken: string;
  simulatorsAdminPort: number;
  /** The operator's /healthz and /readyz. */
  operatorHealthUrl: string;
  /** The worker pods' /metrics endpoints, one port each, as a Prometheus `file_sd_configs` file. */
  workerMetricsTargets: string;
  kubectl(args: string[], input?: string): string;
  apply(obj: unknown): void;
  stop(): Promise<void>;
}

export async function startLocalPlatform(o: LocalPlatformOptions): Promise<LocalPlatform> {
  const stack = requireStack();
  const { namespace: ns, dir } = o;
  const started: Array<Started<unknown>> = [];
  let runner: LocalRunner | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await runner?.stop();
      for (const p of started.reverse()) await stopProcess(p);
    })());
  const kubectl = (args: string[], input?: string) => {
    const r = spawnSync(stack.tools.kubectl, args, {
      env: { ...process.env, KUBECONFIG: stack.kubeconfig },
      input,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`kubectl ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const apply = (obj: unknown) => void kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  const file = (rel: string, data: string | Buffer) => {
    const path = join(dir, rel);
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(path, data, { mode: 0o600 });
    return path;
  };

  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const crd of ['messagingcampaigns', 'messagingfleets'])
      kubectl([
        'apply',
        '--server-side',
        '--force-conflicts',
        '-f',
        join(repoRoot, `charts/anshim/crds/${crd}.messaging.anshim.io.yaml`),
      ]);
    kubectl([
      'wait',
      '--for',
      'condition=established',
      '--timeout=60s',
      'crd/messagingcampaigns.messaging.anshim.io',
      'crd/messagingfleets.messaging.anshim.io',
    ]);
    kubectl(['create', 'namespace', ns]);

    // Key material for this run only (never personal data): the KEK, the opt-out list key, the carriers' fleet secret, mTLS.
    const kekId = `kek-${randomBytes(4).toString('hex')}`;
    const kekFile = file('kek/kek', randomBytes(32).toString('hex'));
    file('kek/id', kekId);
    const optOutKeyFile = file('opt-out-key/key', randomBytes(32).toString('hex'));
    const psk = randomBytes(32);
    const ca = new LocalCa(stack.pki).ensure();
    const server = ca.issue({
      name: `${ns}-carriers`,
      commonName: 'carrier-simulator',
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      usage: 'server',
    });
    const client = ca.issue({ name: `${ns}-worker`, commonName: 'anshim-worker', usage: 'client' });

    const simConfig = file(
      'simulators.json',
      JSON.stringify({
        host: '127.0.0.1',
        pskHex: psk.toString('hex'),
        tls: { ca: ca.cert, cert: server.cert, key: server.key },
        defaults: o.simulatorDefaults ?? {},
        carriers: Object.fromEntries(o.carriers.map((c) => [c, o.simulatorCarriers?.[c] ?? {}])),
      }),
    );
    const sims = await startProcess<{ carriers: Record<string, { port: number }>; admin: { port: number } }>(
      'simulators',
      ['simulator/src/main.ts', simConfig],
      { cwd: repoRoot, logFile: join(dir, 'simulators.log'), isReady: (line) => line.startsWith('{"carriers"') },
    );
    started.push(sims);

    // The fleet's Secrets and the MessagingFleet, as the Helm chart would install them.
    const secret = (name: string, data: Record<string, string | Buffer>) =>
      apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ns },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      });
    secret(WORKER_KAFKA_SECRET, workerKafkaSecretData());
    secret('anshim-opt-out-key', { key: readFileSync(optOutKeyFile) });
    secret('anshim-carrier-tls', {
      'ca.crt': readFileSync(ca.cert),
      'tls.crt': readFileSync(client.cert),
      'tls.key': readFileSync(client.key),
    });
    secret('anshim-carrier-keys', {
      'keys.json': JSON.stringify(
        o.carriers.map((c) => {
          const k = carrierKeyFromFleetSecret(c, psk);
          return { carrier: c, id: k.id, materialHex: Buffer.from(k.material).toString('hex') };
        }),
      ),
    });
    apply({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MessagingFleet',
      metadata: { name: 'default', namespace: ns },
      spec: {
        kafka: { brokers: stack.kafka.brokers, sasl: { secretName: WORKER_KAFKA_SECRET } },
        carriers: o.carriers.map((id) => ({ id, address: `127.0.0.1:${sims.ready.carriers[id]!.port}` })),
        worker: { image: 'anshim/worker:local', poolThreads: 1, carrierServerName: 'localhost' },
        scaling: o.scaling,
      },
    });

    // The operator (its own process, leader-elected), the local runner, and the gateway.
    const brokers = stack.kafka.brokers.join(',');
    const keys = { file: kekFile, id: kekId, kms: stack.kms };
    const operator = await startProcess<{ health: string }>(
      'operator',
      [
        'operator/src/main.ts',
        ...['--kubeconfig', stack.kubeconfig, '--brokers', brokers, ...kekArgs(keys, 'operator')],
        ...['--lease-namespace', ns, '--watch-namespace', ns, '--identity', `${ns}-operator`],
        ...['--signing-key', join(dir, 'signing/key.pem'), '--certificate-dir', join(dir, 'certificates')],
        ...['--issuer', `anshim-operator@${ns}`],
      ],
      { cwd: repoRoot, logFile: join(dir, 'operator.log'), env: kafkaEnv('operator') },
    );
    started.push(operator);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(stack.kubeconfig);
    runner = new LocalRunner(kc, {
      cwd: repoRoot,
      rootDir: join(dir, 'runner'),
      namespace: ns,
      log: createLogger('runner', { destination: join(dir, 'runner.log') }),
    });
    runner.start();
    const gw = await startProcess<{ url: string }>(
      'gateway',
      [
        'gateway/src/main.ts',
        ...['--kubeconfig', stack.kubeconfig, '--brokers', brokers, ...kekArgs(keys, 'gateway')],
        ...['--opt-out-key-file', optOutKeyFile, '--port', '0'],
      ],
      { cwd: repoRoot, logFile: join(dir, 'gateway.log'), env: kafkaEnv('gateway') },
    );
    started.push(gw);
    // Callers as a platform team would make them: ServiceAccounts bound to the gateway's roles.
    const senderToken = await serviceAccountToken(kc, ns, 'sender', { role: 'anshim-sender' });
    const optOutToken = await serviceAccountToken(kc, ns, 'optout-line', {
      role: 'anshim-optout-recorder',
      clusterWide: true,
    });
    return {
      namespace: ns,
      dir,
      kc,
      gatewayUrl: gw.ready.url,
      senderToken,
      optOutToken,
      simulatorsAdminPort: sims.ready.admin.port,
      operatorHealthUrl: operator.ready.health,
      workerMetricsTargets: runner.metricsTargetsFile(),
      kubectl,
      apply,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
