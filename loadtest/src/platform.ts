// A local platform for one load-test run, in a namespace of its own: carrier simulators
// (mTLS), the operator, the local runner that plays kubelet for worker Deployments, the
// gateway, and one transactional campaign. Everything started here is stopped by `stop`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { carrierKeyFromFleetSecret, createLogger, type CarrierId } from '@anshim/core';
import { GROUP, LocalRunner, PLURAL, VERSION, type MessagingCampaign } from '@anshim/operator';
import { LocalCa, repoRoot, requireStack } from '@anshim/stack';
import { startProcess, stopProcess, type Started } from '../../scripts/quickstart/processes.ts';

/** Text channels only: a transactional OTP goes out as SMS through the mobile operators. */
const CARRIERS: CarrierId[] = ['skt', 'kt', 'lguplus'];
export const CAMPAIGN_NAME = 'otp';

export type CampaignCounts = NonNullable<NonNullable<MessagingCampaign['status']>['counts']>;

export interface Platform {
  namespace: string;
  campaignId: string;
  gatewayUrl: string;
  campaign(): Promise<MessagingCampaign>;
  stop(): Promise<void>;
}

export async function startPlatform(o: {
  namespace: string;
  dir: string;
  messagesPerSecond: number;
  say: (line: string) => void;
}): Promise<Platform> {
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

  try {
    const kubectl = (args: string[], input?: string) => {
      const r = spawnSync(stack.tools.kubectl, args, {
        env: { ...process.env, KUBECONFIG: stack.kubeconfig },
        input,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`kubectl ${args[0]} failed: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));
    const file = (rel: string, data: string | Buffer) => {
      const path = join(dir, rel);
      mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(path, data, { mode: 0o600 });
      return path;
    };

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

    // Key material for this run only (never personal data).
    const kekId = `kek-${randomBytes(4).toString('hex')}`;
    const kekFile = file('kek/kek', randomBytes(32).toString('hex'));
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
        defaults: { deliveryDelayMs: 20 },
        carriers: Object.fromEntries(CARRIERS.map((c) => [c, {}])),
      }),
    );
    const sims = await startProcess<{ carriers: Record<string, { port: number }> }>(
      'simulators',
      ['simulator/src/main.ts', simConfig],
      { cwd: repoRoot, logFile: join(dir, 'simulators.log'), isReady: (line) => line.startsWith('{"carriers"') },
    );
    started.push(sims);

    const secret = (name: string, data: Record<string, string | Buffer>) =>
      apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ns },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      });
    secret('anshim-kek', { kek: readFileSync(kekFile), id: kekId });
    secret('anshim-opt-out-key', { key: readFileSync(optOutKeyFile) });
    secret('anshim-carrier-tls', {
      'ca.crt': readFileSync(ca.cert),
      'tls.crt': readFileSync(client.cert),
      'tls.key': readFileSync(client.key),
    });
    secret('anshim-carrier-keys', {
      'keys.json': JSON.stringify(
        CARRIERS.map((c) => {
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
        kafka: { brokers: stack.kafka.brokers },
        carriers: CARRIERS.map((id) => ({ id, address: `127.0.0.1:${sims.ready.carriers[id]!.port}` })),
        worker: { image: 'anshim/worker:local', poolThreads: 1, carrierServerName: 'localhost' },
        scaling: { lagPerReplica: 2000, cooldownSeconds: 5, pollSeconds: 1 },
      },
    });

    const brokers = stack.kafka.brokers.join(',');
    const kek = ['--kek-file', kekFile, '--kek-id', kekId];
    started.push(
      await startProcess(
        'operator',
        [
          'operator/src/main.ts',
          ...['--kubeconfig', stack.kubeconfig, '--brokers', brokers, ...kek],
          ...['--lease-namespace', ns, '--watch-namespace', ns, '--identity', `${ns}-operator`],
          ...['--signing-key', join(dir, 'signing/key.pem'), '--certificate-dir', join(dir, 'certificates')],
          ...['--issuer', `anshim-operator@${ns}`],
        ],
        { cwd: repoRoot, logFile: join(dir, 'operator.log') },
      ),
    );
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
        ...['--kubeconfig', stack.kubeconfig, '--brokers', brokers, ...kek],
        ...['--opt-out-key-file', optOutKeyFile, '--port', '0'],
      ],
      { cwd: repoRoot, logFile: join(dir, 'gateway.log') },
    );
    started.push(gw);

    const campaign: MessagingCampaign = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MessagingCampaign',
      metadata: { name: CAMPAIGN_NAME, namespace: ns },
      spec: {
        purpose: 'transactional',
        channel: 'TEXT',
        template: { body: '[안심은행] 인증번호 #{code}' },
        sender: { name: '안심은행', callbackNumber: '15881234' },
        processors: CARRIERS,
        audience: { datasetRef: { name: 'loadtest-otp' } },
        rateLimit: { messagesPerSecond: o.messagesPerSecond },
        priorityClass: 'transactional',
        retentionAfterCompletion: '1h',
      },
    } as MessagingCampaign;
    apply(campaign);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const get = async () =>
      (await api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: ns,
        name: CAMPAIGN_NAME,
      })) as MessagingCampaign;
    await until(async () => {
      const phase = (await get()).status?.phase;
      return phase === 'Provisioning' || phase === 'Sending';
    }, 'the campaign to be provisioned');
    o.say(`namespace ${ns}: simulators, operator, local runner and gateway (${gw.ready.url}) up; campaign provisioned`);
    return { namespace: ns, campaignId: `${ns}.${CAMPAIGN_NAME}`, gatewayUrl: gw.ready.url, campaign: get, stop };
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
