// The local runner's worker pods and Prometheus: every pod of a Deployment whose template asks
// for metrics on one port gets a port of its own on this machine, and a real Prometheus finds
// them through the runner's targets file and scrapes each one as the pod it is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { startPrometheus, type PrometheusServer } from '@anshim/stack';
import { fakeRecipients, produceRecipients, stackKafka, TestCarriers } from './data-plane.ts';
import { type MessagingCampaign } from '@anshim/api';
import { KubernetesKeyStore } from '@anshim/keystore';
import type { LocalRunner, ScrapeTarget } from './local-runner.ts';
import {
  applyCarrierFleet,
  applyWorkerSecrets,
  createNamespace,
  deleteCampaigns,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  startLocalRunner,
  startOperator,
  testKek,
  type OperatorProcess,
} from './control-plane.ts';

const kek = testKek();
const carriers = new TestCarriers();
let ns: string;
let kafka: Kafka;
let operator: OperatorProcess;
let runner: LocalRunner;
let prometheus: PrometheusServer | undefined;

before(async () => {
  installCrds();
  ns = createNamespace('runner-metrics');
  kafka = stackKafka('runner-metrics-it');
  await carriers.start();
  applyWorkerSecrets(ns, kek, carriers);
  // OTPs keep two warm workers without any lag: two pods of one template, one metrics port.
  applyCarrierFleet(ns, carriers, {
    cooldownSeconds: 2,
    pollSeconds: 1,
    classes: { transactional: { minReplicas: 2, maxReplicas: 2 } },
  });
  operator = startOperator('op-runner-metrics', ns, kek);
  runner = startLocalRunner(ns, kek);
  prometheus = await startPrometheus({ targetFiles: [runner.metricsTargetsFile()], name: 'local-runner' });
});

after(async () => {
  await deleteCampaigns(ns).catch((err: Error) => console.error(err.message));
  await runner.stop();
  operator.child.kill('SIGTERM');
  await operator.exited;
  await prometheus?.stop();
  await carriers.stop();
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

test(
  'each local worker pod serves /metrics on a port of its own, and Prometheus scrapes every one as its pod',
  { timeout: 180_000 },
  async () => {
    const name = 'otp';
    const campaignId = `${ns}.${name}`;
    const campaign: MessagingCampaign = {
      apiVersion: 'messaging.anshim.io/v1alpha1',
      kind: 'MessagingCampaign',
      metadata: { name, namespace: ns },
      spec: {
        purpose: 'transactional',
        channel: 'TEXT',
        template: { body: '[안심은행] 인증번호 #{name}' },
        sender: { name: '안심은행', callbackNumber: '15881234' },
        processors: ['skt', 'kt', 'lguplus'],
        audience: { datasetRef: { name: 'otp' } },
        rateLimit: { messagesPerSecond: 2000 },
        priorityClass: 'transactional',
      },
    };
    kubectl(['apply', '-f', '-'], JSON.stringify(campaign));

    // In a cluster both pods would listen on the template's port, each on its own IP.
    const deployment = await eventually('the worker Deployment', async () =>
      JSON.parse(kubectl(['get', 'deployment', `anshim-worker-${name}`, '-n', ns, '-o', 'json'])),
    );
    const template = deployment.spec.template;
    assert.deepEqual(template.spec.containers[0].ports, [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    assert.equal(template.metadata.annotations['prometheus.io/port'], '9464');

    const targets = await eventually(
      'two ready pods serving metrics',
      async () => {
        const t = runner.metricsTargets();
        return t.length === 2 && runner.snapshot()[0]?.ready === 2 ? t : undefined;
      },
      90_000,
    );
    const addresses = targets.map((t) => t.targets[0]!);
    assert.equal(new Set(addresses).size, 2, `a port each: ${addresses.join(', ')}`);
    for (const address of addresses) assert.match(address, /^127\.0\.0\.1:\d+$/, 'on loopback only');
    const pods = targets.map((t) => t.labels.pod!).sort();
    assert.ok(
      targets.every((t) => t.labels.namespace === ns && t.labels.deployment === `anshim-worker-${name}`),
      JSON.stringify(targets),
    );
    // The file Prometheus reads is what the runner says.
    assert.deepEqual(
      (JSON.parse(readFileSync(runner.metricsTargetsFile(), 'utf8')) as ScrapeTarget[]).map((t) => t.labels.pod).sort(),
      pods,
    );

    const up = await prometheus!.waitFor('up{job="anshim"} == 1', (s) => s.length === 2, 60_000);
    assert.deepEqual(up.map((s) => s.metric.pod).sort(), pods);
    // Each port answers as the pod recorded for it: the worker's own instance id is that pod's name.
    const info = await prometheus!.waitFor('target_info{job="anshim"}', (s) => s.length === 2);
    for (const s of info) assert.equal(s.metric.service_instance_id, s.metric.pod, JSON.stringify(s.metric));

    // The workers' own metrics arrive labelled with the pod that sent.
    const keys = new KubernetesKeyStore(kubeConfig(), [kek.provider]);
    const key = await eventually('the campaign data key', async () => (await keys.open(campaignId))[0]);
    await produceRecipients(kafka, `anshim.campaign.${campaignId}.transactional`, key, campaignId, fakeRecipients(40));
    const consumed = await prometheus!.waitFor(
      `sum by (pod) (anshim_worker_records_consumed_total{campaign="${campaignId}"})`,
      (s) => s.reduce((n, x) => n + Number(x.value[1]), 0) >= 40,
      60_000,
    );
    assert.ok(
      consumed.every((s) => pods.includes(s.metric.pod!)),
      JSON.stringify(consumed.map((s) => s.metric)),
    );

    // Gone with their pods: the campaign is deleted, the targets file empties and Prometheus drops them.
    await deleteCampaigns(ns);
    await eventually('no pods left', async () => (runner.metricsTargets().length === 0 ? true : undefined), 60_000);
    assert.deepEqual(JSON.parse(readFileSync(runner.metricsTargetsFile(), 'utf8')), []);
    await eventually('Prometheus without targets', async () =>
      (await prometheus!.targets()).length === 0 ? true : undefined,
    );
  },
);
