// The quick start's steps. Everything it starts is stopped by pid on exit.
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { CarrierId } from '@anshim/core';
import { type MessagingCampaign } from '@anshim/api';
import type { SignedDestructionCertificate } from '@anshim/compliance';
import {
  down,
  printEndpoints,
  repoRoot,
  stateDir,
  status,
  up,
  campaignReader,
  startLocalPlatform,
  until,
  type LocalPlatform,
} from '@anshim/dev-platform';

const CARRIERS: CarrierId[] = ['skt', 'kt', 'lguplus', 'kakao'];
const say = (line: string) => console.log(`[anshim] ${line}`);

export async function runQuickStart(o: { exitWhenDone: boolean; retention: string }): Promise<void> {
  let platform: LocalPlatform | undefined;
  const wasUp = (await status()).every((s) => s.healthy);
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      say('stopping what the quick start started');
      await platform?.stop();
      if (!wasUp) await down({ keep: true });
    })());
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  try {
    const stack = await up((line) => console.log(`[stack] ${line}`));
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const ns = `quickstart-${stamp}`;
    const dir = join(stateDir(), 'quickstart', stamp);
    say(`namespace ${ns}; run files in ${dir}`);

    // 1–6. CRDs, key material, carrier simulators (SKT, KT, LGU+, Kakao over mTLS), the fleet's
    // Secrets and MessagingFleet, the operator, the local runner and the gateway.
    platform = await startLocalPlatform({
      namespace: ns,
      dir,
      carriers: CARRIERS,
      simulatorDefaults: {
        kakaoTemplates: ['WEEKEND_PROMO'],
        deliveryDelayMs: 30,
        failureRates: { HANDSET_OFF: 0.02, NO_SUCH_NUMBER: 0.01, SPAM_BLOCKED: 0.005 },
      },
      simulatorCarriers: { kakao: { kakaoAudience: { notUserShare: 0.15, blockedShare: 0.03 } } },
      scaling: { lagPerReplica: 500, cooldownSeconds: 5, pollSeconds: 1 },
    });
    const { kc, kubectl, apply, gatewayUrl, senderToken } = platform;
    say(`simulators, operator, local runner and gateway (${gatewayUrl}) up`);

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
    const upload = await fetch(`${gatewayUrl}/v1/campaigns/${campaignId}/uploads?purpose=advertising&format=xlsx`, {
      method: 'POST',
      // As the mart's system: a ServiceAccount token of the namespace, bound to the anshim-sender role.
      headers: {
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        authorization: `Bearer ${senderToken}`,
      },
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
${kmsLines(certificate)}
  verify:   node --import tsx compliance/src/cli.ts verify-certificate ${certificate} --public-key ${join(dir, 'signing/key.pub.pem')}
  shredded: node --import tsx compliance/src/cli.ts verify-shredded ${certificate} --public-key ${join(dir, 'signing/key.pub.pem')} --kms-address ${stack.kms?.address} --kms-token-file ${stack.kms?.tokens.auditor} --etcd ${stack.etcd?.endpoint}
`);
    printEndpoints(stack);
    console.log(`  gateway         ${gatewayUrl}   (POST /v1/campaigns/<ns>.<name>/uploads, /v1/optouts)
  simulators      admin http://127.0.0.1:${platform.simulatorsAdminPort}/ledger
  operator        ${platform.operatorHealthUrl}/readyz, /healthz
  worker metrics  ${platform.workerMetricsTargets}   (a port per pod, for Prometheus' file_sd_configs)
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

/** What the certificate says the KMS destroyed (the campaign's own key there), one line each. */
function kmsLines(certificateFile: string): string {
  const { certificate } = JSON.parse(readFileSync(certificateFile, 'utf8')) as SignedDestructionCertificate;
  return certificate.kmsDestructions
    .map((k) => `  in the KMS: ${k.keyName} destroyed at ${k.destroyedAt} (${k.answer})`)
    .join('\n');
}
