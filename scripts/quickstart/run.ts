// The quick start's steps. Everything it starts is tracked here and stopped by pid on exit.
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import cliProgress from 'cli-progress';
import { carrierKeyFromFleetSecret, createLogger, type CarrierId } from '@anshim/core';
import { campaignReader, GROUP, LocalRunner, VERSION, type MessagingCampaign } from '@anshim/operator';
import { LocalCa, down, printEndpoints, repoRoot, stateDir, status, up } from '@anshim/stack';
import { startProcess, stopProcess, type Started } from './processes.ts';

const CARRIERS: CarrierId[] = ['skt', 'kt', 'lguplus', 'kakao'];
const say = (line: string) => console.log(`[anshim] ${line}`);

export async function runQuickStart(o: { exitWhenDone: boolean; retention: string }): Promise<void> {
  const started: Array<Started<unknown>> = [];
  let runner: LocalRunner | undefined;
  const wasUp = (await status()).every((s) => s.healthy);
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      say('stopping what the quick start started');
      await runner?.stop();
      for (const p of started.reverse()) await stopProcess(p);
      if (!wasUp) await down({ keep: true });
    })());
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  try {
    const stack = await up((line) => console.log(`[stack] ${line}`));
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const ns = `quickstart-${stamp}`;
    const dir = join(stateDir(), 'quickstart', stamp);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const kubectl = (args: string[], input?: string) => {
      const r = spawnSync(stack.tools!.kubectl, args, {
        env: { ...process.env, KUBECONFIG: stack.kubeconfig },
        input,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

    // 1. The CRDs and a namespace of this run's own.
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
    say(`namespace ${ns}; run files in ${dir}`);

    // 2. Key material (never personal data): the KEK, the opt-out list key, the carriers' fleet secret, mTLS.
    const file = (rel: string, data: string | Buffer) => {
      const path = join(dir, rel);
      mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(path, data, { mode: 0o600 });
      return path;
    };
    const kekId = `kek-${randomBytes(4).toString('hex')}`;
    const kekFile = file('kek/kek', randomBytes(32).toString('hex'));
    file('kek/id', kekId);
    const optOutKeyFile = file('opt-out-key/key', randomBytes(32).toString('hex'));
    const psk = randomBytes(32);
    const ca = new LocalCa(stack.pki!).ensure();
    const server = ca.issue({
      name: 'quickstart-carriers',
      commonName: 'carrier-simulator',
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      usage: 'server',
    });
    const client = ca.issue({ name: 'quickstart-worker', commonName: 'anshim-worker', usage: 'client' });

    // 3. Carrier simulators (SKT, KT, LGU+, Kakao) over mTLS.
    const simConfig = file(
      'simulators.json',
      JSON.stringify({
        host: '127.0.0.1',
        pskHex: psk.toString('hex'),
        tls: { ca: ca.cert, cert: server.cert, key: server.key },
        defaults: {
          kakaoTemplates: ['WEEKEND_PROMO'],
          deliveryDelayMs: 30,
          failureRates: { HANDSET_OFF: 0.02, NO_SUCH_NUMBER: 0.01, SPAM_BLOCKED: 0.005 },
        },
        carriers: {
          skt: {},
          kt: {},
          lguplus: {},
          kakao: { kakaoAudience: { notUserShare: 0.15, blockedShare: 0.03 } },
        },
      }),
    );
    const sims = await startProcess<{ carriers: Record<string, { port: number }>; admin: { port: number } }>(
      'simulators',
      ['simulator/src/main.ts', simConfig],
      { cwd: repoRoot, logFile: join(dir, 'simulators.log'), isReady: (line) => line.startsWith('{"carriers"') },
    );
    started.push(sims);
    say(
      `carrier simulators up: ${Object.entries(sims.ready.carriers)
        .map(([c, s]) => `${c}:${s.port}`)
        .join(' ')}`,
    );

    // 4. The fleet's Secrets and the MessagingFleet, as the Helm chart would install them.
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
        kafka: { brokers: stack.kafka!.brokers },
        carriers: CARRIERS.map((id) => ({ id, address: `127.0.0.1:${sims.ready.carriers[id]!.port}` })),
        worker: { image: 'anshim/worker:local', poolThreads: 1, carrierServerName: 'localhost' },
        scaling: { lagPerReplica: 500, cooldownSeconds: 5, pollSeconds: 1 },
      },
    });

    // 5. The operator (its own process, leader-elected), and the local runner that plays kubelet.
    const op = await startProcess(
      'operator',
      [
        'operator/src/main.ts',
        '--kubeconfig',
        stack.kubeconfig!,
        '--brokers',
        stack.kafka!.brokers.join(','),
        '--kek-file',
        kekFile,
        '--kek-id',
        kekId,
        '--lease-namespace',
        ns,
        '--watch-namespace',
        ns,
        '--identity',
        'quickstart-operator',
        '--signing-key',
        join(dir, 'signing/key.pem'),
        '--certificate-dir',
        join(dir, 'certificates'),
        '--issuer',
        'anshim-operator@quickstart',
      ],
      { cwd: repoRoot, logFile: join(dir, 'operator.log') },
    );
    started.push(op);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(stack.kubeconfig!);
    runner = new LocalRunner(kc, {
      cwd: repoRoot,
      rootDir: join(dir, 'runner'),
      namespace: ns,
      log: createLogger('runner', { destination: join(dir, 'runner.log') }),
    });
    runner.start();

    // 6. The gateway, where staff upload spreadsheets.
    const gw = await startProcess<{ url: string }>(
      'gateway',
      [
        'gateway/src/main.ts',
        '--kubeconfig',
        stack.kubeconfig!,
        '--brokers',
        stack.kafka!.brokers.join(','),
        '--kek-file',
        kekFile,
        '--kek-id',
        kekId,
        '--opt-out-key-file',
        optOutKeyFile,
        '--port',
        '0',
      ],
      { cwd: repoRoot, logFile: join(dir, 'gateway.log') },
    );
    started.push(gw);
    say(`operator, local runner and gateway (${gw.ready.url}) up`);

    // 7. kubectl apply the example campaign.
    const mc = JSON.parse(
      kubectl(['create', '--dry-run=client', '-o', 'json', '-f', join(repoRoot, 'examples/campaign.yaml')]),
    ) as MessagingCampaign;
    mc.metadata.namespace = ns;
    mc.spec.retentionAfterCompletion = o.retention;
    apply(mc);
    const name = mc.metadata.name;
    const campaignId = `${ns}.${name}`;
    const read = campaignReader(kc, ns);
    const get = () => read(name);
    say(`kubectl apply -f examples/campaign.yaml → messagingcampaign/${name}`);
    await until(async () => (await get()).status?.phase === 'Provisioning', 'the campaign to be provisioned');

    // 8. Upload the spreadsheet: streamed, validated and sealed row by row at the gateway.
    const upload = await fetch(`${gw.ready.url}/v1/campaigns/${campaignId}/uploads?purpose=advertising&format=xlsx`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
      body: Readable.toWeb(createReadStream(join(repoRoot, 'examples/recipients.xlsx'))) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const answer = (await upload.json()) as {
      counts?: Record<string, unknown>;
      rejections?: Array<{ row: number; reason: string; value?: string }>;
      error?: string;
      message?: string;
    };
    if (!upload.ok) throw new Error(`upload refused (${upload.status}): ${JSON.stringify(answer)}`);
    say(`uploaded examples/recipients.xlsx: ${JSON.stringify(answer.counts)}`);
    for (const r of (answer.rejections ?? []).slice(0, 5)) say(`  row ${r.row}: ${r.reason} ${r.value ?? ''}`);

    // 9. Progress until delivered and shredded.
    const bars = new cliProgress.MultiBar(
      {
        format: ' {label} |{bar}| {value}/{total}',
        hideCursor: true,
        clearOnComplete: false,
        noTTYOutput: true,
        notTTYSchedule: 5000,
      },
      cliProgress.Presets.shades_classic,
    );
    const total = Number(answer.counts?.accepted ?? 1);
    const bar = (label: string) => bars.create(total, 0, { label: label.padEnd(10) });
    const sent = bar('sent');
    const delivered = bar('delivered');
    const failed = bar('failed');
    const fellBack = bar('fell back');
    let last: MessagingCampaign | undefined;
    await until(
      async () => {
        last = await get();
        const c = last.status?.counts;
        sent.update(c?.sent ?? 0);
        delivered.update(c?.delivered ?? 0);
        failed.update(c?.failed ?? 0);
        fellBack.update(c?.fellBack ?? 0);
        return last.status?.phase === 'Destroyed' || last.status?.phase === 'Failed';
      },
      'the campaign to complete and be shredded',
      15 * 60_000,
    );
    bars.stop();

    // 10. The summary, the certificate, and where to look next.
    const s = last!.status!;
    const certificate = join(dir, 'certificates', `${campaignId}.certificate.json`);
    console.log(`
Campaign ${campaignId}: ${s.phase}
  queued ${s.counts?.queued}  sent ${s.counts?.sent}  delivered ${s.counts?.delivered}  failed ${s.counts?.failed}  fell back to SMS/LMS ${s.counts?.fellBack}
  failed by result: ${JSON.stringify(s.counts?.failedByResult ?? {})}
  started ${s.startTime}  completed ${s.completionTime}

Destruction certificate: ${certificate}
  verify: node --import tsx compliance/src/cli.ts verify-certificate ${certificate} --public-key ${join(dir, 'signing/key.pub.pem')}
`);
    printEndpoints(stack);
    console.log(`  gateway         ${gw.ready.url}   (POST /v1/campaigns/<ns>.<name>/uploads, /v1/optouts)
  simulators      admin http://127.0.0.1:${sims.ready.admin.port}/ledger
  watch           KUBECONFIG=${stack.kubeconfig} ${stack.tools!.kubectl} get mc -n ${ns}
  logs            ${dir}
`);
    if (o.exitWhenDone) {
      await stopAll();
      return;
    }
    say('running; Ctrl-C stops everything the quick start started');
    await new Promise(() => undefined);
  } catch (err) {
    console.error(`[anshim] quick start failed: ${(err as Error).message}`);
    await stopAll();
    process.exit(1);
  }
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
