// Shared set-up for the operator's integration tests: kubectl against the stack's API server,
// a namespace per run, a key-encryption key on disk, and operator processes to start and kill.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { NamespaceKekProvider, createLogger, type KeyEncryptionKeyProvider } from '@anshim/core';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { repoRoot, requireStack, type KmsState } from '@anshim/stack';
import { kafkaEnv, WORKER_KAFKA_SECRET, workerKafkaSecretData, type TestCarriers } from './data-plane.ts';
import { VERSION, type MessagingFleet, GROUP, PLURAL, type MessagingCampaign } from '@anshim/api';
import { LocalRunner } from './local-runner.ts';

/** The CRDs live in the Helm chart: the chart installs exactly what these tests apply. */
export const CRD_DIR = join(repoRoot, 'charts/anshim/crds');
export const CRDS = ['messagingcampaigns', 'messagingfleets'].map((p) =>
  join(CRD_DIR, `${p}.messaging.anshim.io.yaml`),
);

export function kubectl(args: string[], input?: string): string {
  const stack = requireStack();
  const r = spawnSync(stack.tools.kubectl, args, {
    env: { ...process.env, KUBECONFIG: stack.kubeconfig },
    input,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Applies examples/campaign.yaml as `namespace/name`, its spec overridden field by field (the
 * audience, rate, retention a test needs); returns the object as applied.
 */
export function applyExampleCampaign(
  namespace: string,
  name: string,
  spec: Partial<MessagingCampaign['spec']> = {},
): MessagingCampaign {
  const example = JSON.parse(
    kubectl(['create', '--dry-run=client', '-o', 'json', '-f', join(repoRoot, 'examples/campaign.yaml')]),
  ) as MessagingCampaign;
  const campaign = { ...example, metadata: { name, namespace }, spec: { ...example.spec, ...spec } };
  kubectl(['apply', '-f', '-'], JSON.stringify(campaign));
  return campaign;
}

export function installCrds(): void {
  for (const crd of CRDS) kubectl(['apply', '--server-side', '--force-conflicts', '-f', crd]);
  kubectl([
    'wait',
    '--for',
    'condition=established',
    '--timeout=60s',
    'crd/messagingcampaigns.messaging.anshim.io',
    'crd/messagingfleets.messaging.anshim.io',
  ]);
}

/** The namespace's `default` MessagingFleet: the stack's Kafka, placeholder carriers, fast scaling. */
export function applyFleet(namespace: string, spec: Partial<MessagingFleet['spec']> = {}): void {
  // The workers' Kafka user, as the chart installs it (fleet.kafkaSecret).
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: WORKER_KAFKA_SECRET, namespace },
      stringData: workerKafkaSecretData(),
    }),
  );
  kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MessagingFleet',
      metadata: { name: 'default', namespace },
      spec: {
        kafka: { brokers: requireStack().kafka.brokers, sasl: { secretName: WORKER_KAFKA_SECRET } },
        carriers: ['skt', 'kt', 'lguplus', 'kakao'].map((id, i) => ({ id, address: `127.0.0.1:${40000 + i}` })),
        worker: { image: 'anshim/worker:dev' },
        scaling: { lagPerReplica: 100, cooldownSeconds: 2, pollSeconds: 1 },
        ...spec,
      },
    }),
  );
}

/**
 * The Secrets every worker pod mounts, as the Helm chart would install them (key material, never
 * personal data), for worker processes that really run: the carriers' keys and mTLS
 * client certificate, and a fresh opt-out list key, whose file this returns.
 */
export function applyWorkerSecrets(namespace: string, kek: TestKek, carriers: TestCarriers): string {
  const secret = (name: string, data: Record<string, string | Buffer>) =>
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      }),
    );
  secret('anshim-carrier-keys', {
    'keys.json': JSON.stringify(
      carriers
        .carrierKeys()
        .map((k) => ({ carrier: k.carrier, id: k.id, materialHex: Buffer.from(k.material).toString('hex') })),
    ),
  });
  const optOutKeyFile = join(kek.dir, 'opt-out-key');
  writeFileSync(optOutKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  secret('anshim-opt-out-key', { key: readFileSync(optOutKeyFile) });
  secret('anshim-carrier-tls', {
    'ca.crt': readFileSync(carriers.tls.ca),
    'tls.crt': readFileSync(carriers.tls.client.cert),
    'tls.key': readFileSync(carriers.tls.client.key),
  });
  return optOutKeyFile;
}

/** The namespace's `default` MessagingFleet with the test's simulators as carriers (mTLS, server name localhost). */
export function applyCarrierFleet(
  namespace: string,
  carriers: TestCarriers,
  scaling: NonNullable<MessagingFleet['spec']['scaling']>,
): void {
  applyFleet(namespace, {
    carriers: [...carriers.sims].map(([id, s]) => ({ id, address: s.address })),
    worker: { image: 'anshim/worker:dev', poolThreads: 1, carrierServerName: 'localhost' },
    scaling,
  });
}

/** A started LocalRunner for the namespace's worker Deployments, its pods under the test's directory. */
export function startLocalRunner(namespace: string, kek: TestKek): LocalRunner {
  const runner = new LocalRunner(kubeConfig(), {
    cwd: repoRoot,
    rootDir: join(kek.dir, 'runner'),
    namespace,
    log: createLogger('runner', { level: 'warn' }),
  });
  runner.start();
  return runner;
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(requireStack().kubeconfig);
  return kc;
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A namespace of our own, so runs and test files never see each other's campaigns or leases. */
export function createNamespace(prefix: string): string {
  const ns = `${prefix}-${process.pid}-${Date.now() % 100_000}`;
  kubectl(['create', 'namespace', ns]);
  return ns;
}

export interface TestKek {
  dir: string;
  /** A local platform KEK (the operator runs with it when there is no KMS, else as a previous KEK). */
  file: string;
  id: string;
  /**
   * What opens the campaigns' data keys as the gateway does: the KMS with the gateway's token,
   * or (`local`) the platform KEK each namespace's KEK derives from.
   */
  provider: KeyEncryptionKeyProvider;
  /** The stack's KMS the operator wraps in (absent with `local`). */
  kms?: KmsState;
}

/** Key material for an operator under test: the stack's KMS (as production runs), or `local` KEKs only. */
export function testKek(opts: { local?: boolean } = {}): TestKek {
  const dir = mkdtempSync(join(tmpdir(), 'anshim-operator-it-'));
  const material = randomBytes(32);
  const id = `kek-${material.subarray(0, 4).toString('hex')}`;
  const file = join(dir, 'kek');
  writeFileSync(file, material.toString('hex'), { mode: 0o600 });
  if (opts.local) return { dir, file, id, provider: new NamespaceKekProvider(id, material) };
  const { kms } = requireStack();
  const provider = new TransitKekProvider({
    client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.gateway }),
    mount: kms.mount,
  });
  return { dir, file, id, provider, kms };
}

/** The flags that give the operator (or gateway) its keys: the KMS with that component's token, and the local KEK. */
export function kekArgs(kek: Pick<TestKek, 'file' | 'id' | 'kms'>, component: 'operator' | 'gateway'): string[] {
  return [
    ...['--kek-file', kek.file, '--kek-id', kek.id],
    ...(kek.kms
      ? ['--kms-address', kek.kms.address, '--kms-token-file', kek.kms.tokens[component], '--kms-mount', kek.kms.mount]
      : []),
  ];
}

export interface OperatorProcess {
  identity: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

/**
 * Starts `operator/src/main.ts` as its own process, as a Deployment's pod would run it. `kubeconfig`
 * may impersonate a ServiceAccount (`as:`), to run the operator with exactly the chart's RBAC.
 */
export function startOperator(
  identity: string,
  namespace: string,
  kek: TestKek,
  opts: {
    leaseSeconds?: number;
    brokers?: string[];
    kubeconfig?: string;
    env?: NodeJS.ProcessEnv;
    /** More flags (e.g. --health-port). */
    args?: string[];
  } = {},
): OperatorProcess {
  const stack = requireStack();
  const logFile = join(kek.dir, `${identity}.log`);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'operator/src/main.ts'),
      '--kubeconfig',
      opts.kubeconfig ?? stack.kubeconfig,
      '--brokers',
      (opts.brokers ?? stack.kafka.brokers).join(','),
      ...kekArgs(kek, 'operator'),
      '--lease-namespace',
      namespace,
      '--watch-namespace',
      namespace,
      '--identity',
      identity,
      '--lease-duration-seconds',
      String(opts.leaseSeconds ?? 3),
      '--signing-key',
      join(kek.dir, 'signing', 'key.pem'),
      '--certificate-dir',
      join(kek.dir, 'certificates'),
      ...(opts.args ?? []),
    ],
    // As the operator's user, unless the test says otherwise (opts.env).
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...kafkaEnv('operator'), ...opts.env } },
  );
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { identity, child, logFile, exited };
}

/**
 * Deletes the namespace's campaigns while an operator still runs to release their finalizers
 * (the stack has no namespace controller, so a deleted namespace would keep them forever).
 */
export async function deleteCampaigns(namespace: string): Promise<void> {
  kubectl(['delete', 'mc', '--all', '-n', namespace, '--wait=false']);
  await eventually(
    `campaigns of ${namespace} finalized`,
    async () => (kubectl(['get', 'mc', '-n', namespace, '-o', 'name']).trim() === '' ? true : undefined),
    60_000,
  );
}

export async function leaseHolder(kc: k8s.KubeConfig, namespace: string): Promise<string | undefined> {
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  const lease = await api.readNamespacedLease({ namespace, name: 'anshim-operator' });
  return lease.spec?.holderIdentity || undefined;
}

/** Reads campaigns of one namespace from the API server (for tools, the quick start and tests). */
export function campaignReader(kc: k8s.KubeConfig, namespace: string): (name: string) => Promise<MessagingCampaign> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  return async (name) =>
    (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as MessagingCampaign;
}
