// The KMS down, against a KMS of this test's own (OpenBao, stopped and started by pid on the
// same ports and data) with the real API server, Kafka, workers and carriers: a campaign cannot
// start while the KMS is away, a running one pauses and resumes with nothing lost or sent twice,
// and shredding waits — no certificate until the KMS confirms the campaign key is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Kafka } from 'kafkajs';
import type { MessagingCampaign } from '@anshim/api';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { KubernetesKeyStore } from '@anshim/keystore';
import {
  applyCarrierFleet,
  applyWorkerSecrets,
  campaignReader,
  createNamespace,
  deleteCampaigns,
  eventually,
  fakeRecipients,
  installCrds,
  kubeConfig,
  kubectl,
  produceRecipients,
  stackKafka,
  startKms,
  startLocalRunner,
  startOperator,
  stopKms,
  TestCarriers,
  testKek,
  type KmsState,
  type LocalRunner,
  type OperatorProcess,
  type TestKek,
} from '@anshim/dev-platform';

const RECIPIENTS = 300;
const carriers = new TestCarriers();
const kmsDir = mkdtempSync(join(tmpdir(), 'anshim-kms-outage-'));
let kms: KmsState;
let kek: TestKek;
let ns: string;
let kafka: Kafka;
let operator: OperatorProcess;
let runner: LocalRunner;

const condition = (mc: MessagingCampaign, type: string) => mc.status?.conditions?.find((c) => c.type === type);

before(async () => {
  kms = await startKms({ dir: kmsDir });
  const local = testKek();
  kek = {
    ...local,
    kms,
    provider: new TransitKekProvider({
      client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.gateway }),
      mount: kms.mount,
    }),
  };
  installCrds();
  ns = createNamespace('kms-outage');
  kafka = stackKafka('kms-outage-it');
  await carriers.start();
  applyWorkerSecrets(ns, kek, carriers);
  applyCarrierFleet(ns, carriers, { lagPerReplica: 100, cooldownSeconds: 2, pollSeconds: 1 });
  operator = startOperator('op-kms-outage', ns, kek);
  runner = startLocalRunner(ns, kek);
});

after(async () => {
  if (!existsSync(kms.configFile) || !(await kmsUp())) kms = await startKms({ dir: kmsDir, previous: kms });
  await deleteCampaigns(ns).catch((err: Error) => console.error(err.message));
  await runner.stop();
  operator.child.kill('SIGTERM');
  await operator.exited;
  await carriers.stop();
  await stopKms(kms);
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

const kmsUp = () => new TransitClient({ address: kms.address }).health().then((h) => h.ok);
const down = async () => {
  await stopKms(kms);
  assert.equal(await kmsUp(), false);
};
const up = async () => {
  kms = await startKms({ dir: kmsDir, previous: kms });
};

test(
  'the KMS down: a campaign cannot start, a running one pauses and resumes, shredding waits for the KMS',
  { timeout: 300_000 },
  async () => {
    const name = 'outage';
    const campaignId = `${ns}.${name}`;
    const read = campaignReader(kubeConfig(), ns);

    await down();
    const campaign: MessagingCampaign = {
      apiVersion: 'messaging.anshim.io/v1alpha1',
      kind: 'MessagingCampaign',
      metadata: { name, namespace: ns },
      spec: {
        purpose: 'transactional',
        channel: 'TEXT',
        template: { body: '[안심은행] 배송 안내 #{name}' },
        sender: { name: '안심은행', callbackNumber: '15881234' },
        processors: ['skt', 'kt', 'lguplus'],
        audience: { datasetRef: { name: 'parcels' }, size: RECIPIENTS },
        // Slow enough that the KMS goes away while it sends, on any machine.
        rateLimit: { messagesPerSecond: 10 },
        retentionAfterCompletion: '24h',
      },
    };
    kubectl(['apply', '-f', '-'], JSON.stringify(campaign));
    const held = await eventually('held for the KMS', async () => {
      const mc = await read(name);
      return condition(mc, 'WorkersReady')?.reason === 'KmsUnavailable' ? mc : undefined;
    });
    assert.equal(held.status?.keyId, undefined, 'no data key without the KMS');
    console.log(`cannot start: ${condition(held, 'WorkersReady')!.message}`);

    await up();
    const provisioned = await eventually(
      'provisioned once the KMS is back',
      async () => {
        const mc = await read(name);
        return mc.status?.keyId && mc.status.topics?.campaign ? mc : undefined;
      },
      60_000,
    );
    const keys = new KubernetesKeyStore(kubeConfig(), [kek.provider]);
    const [key] = await keys.open(campaignId);
    await produceRecipients(kafka, provisioned.status!.topics!.campaign, key!, campaignId, fakeRecipients(RECIPIENTS));
    await eventually('sending', async () => (carriers.accepted(campaignId) > 0 ? true : undefined), 90_000);

    await down();
    const paused = await eventually(
      'paused',
      async () => {
        const mc = await read(name);
        const pods = runner.snapshot().find((s) => s.deployment.endsWith(`anshim-worker-${name}`))?.pods ?? 0;
        return condition(mc, 'WorkersReady')?.reason === 'KmsUnavailable' && pods === 0 ? mc : undefined;
      },
      60_000,
    );
    const sentBeforePause = carriers.accepted(campaignId);
    console.log(`paused with ${sentBeforePause} of ${RECIPIENTS} sent: ${condition(paused, 'WorkersReady')!.message}`);
    assert.ok(sentBeforePause < RECIPIENTS, 'paused mid-send');
    assert.equal(paused.status?.workers?.replicas, 0);

    await up();
    const completed = await eventually(
      'Completed',
      async () => {
        const mc = await read(name);
        return mc.status?.completionTime ? mc : undefined;
      },
      180_000,
    );
    assert.equal(carriers.accepted(campaignId), RECIPIENTS, 'every message sent');
    assert.equal(carriers.reaccepted(campaignId), 0, 'none twice');
    assert.equal(completed.status?.counts?.queued, RECIPIENTS);

    // Retention ends while the KMS is away: nothing is destroyed, no certificate, until it answers.
    await down();
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    await custom.patchNamespacedCustomObject(
      {
        group: 'messaging.anshim.io',
        version: 'v1alpha1',
        plural: 'messagingcampaigns',
        namespace: ns,
        name,
        body: { spec: { retentionAfterCompletion: '1s' } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const waiting = await eventually(
      'shredding waits',
      async () => {
        const mc = await read(name);
        return condition(mc, 'DataDestroyed')?.reason === 'KmsUnavailable' ? mc : undefined;
      },
      60_000,
    );
    assert.equal(waiting.status?.phase, 'Completed');
    assert.equal(waiting.status?.destructionCertificateRef, undefined);
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    await assert.rejects(
      core.readNamespacedConfigMap({ namespace: ns, name: `anshim-destruction-${name}` }),
      (e: { code?: number }) => e.code === 404,
      'no certificate before the KMS confirms',
    );
    assert.equal((await keys.wrapped(campaignId)).length, 1, 'the wrapped key is untouched while the KMS is away');
    console.log(`shredding waits: ${condition(waiting, 'DataDestroyed')!.message}`);

    const back = Date.now();
    await up();
    const destroyed = await eventually(
      'Destroyed once the KMS is back',
      async () => {
        const mc = await read(name);
        return mc.status?.phase === 'Destroyed' ? mc : undefined;
      },
      60_000,
    );
    assert.ok(destroyed.status?.destructionCertificateRef);
    const cm = await core.readNamespacedConfigMap({
      namespace: ns,
      name: destroyed.status!.destructionCertificateRef!.name,
    });
    const certificate = JSON.parse(cm.data!['certificate.json']!).certificate;
    assert.equal(certificate.kmsDestructions.length, 1);
    // The attempt the KMS stopped deleted nothing it would have to certify: the topic is listed.
    assert.deepEqual(certificate.topicsDeleted, [provisioned.status!.topics!.campaign]);
    assert.ok(
      Date.parse(certificate.kmsDestructions[0].destroyedAt) >= back - 1000,
      'destroyed after the KMS came back',
    );
    assert.equal(
      await new TransitKekProvider({
        client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.operator }),
      }).campaignKeyExists(campaignId),
      false,
    );
  },
);
