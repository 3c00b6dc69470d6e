import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  freePort,
  startPrometheus,
  type PrometheusServer,
  fakeRecipients,
  produceRecipients,
  stackKafka,
  applyFleet,
  createNamespace,
  deleteCampaigns,
  eventually,
  installCrds,
  kubeConfig,
  applyExampleCampaign,
  kubectl,
  startOperator,
  testKek,
  type OperatorProcess,
} from '@anshim/dev-platform';
import { KubernetesKeyStore } from '@anshim/keystore';
import { workerGroupId } from '@anshim/api';

const kek = testKek();
const kafka = stackKafka('operator-telemetry-it');
let ns: string;
let operator: OperatorProcess;
let prometheus: PrometheusServer;

before(async () => {
  installCrds();
  ns = createNamespace('op-tel');
  applyFleet(ns);
  const port = await freePort();
  operator = startOperator('op-tel', ns, kek, {
    env: { ANSHIM_METRICS_PORT: String(port), ANSHIM_METRICS_HOST: '127.0.0.1' },
  });
  prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], name: 'operator-telemetry' });
});

after(async () => {
  await deleteCampaigns(ns).catch((err: Error) => console.error(err.message));
  if (operator.child.exitCode === null) operator.child.kill('SIGTERM');
  await operator.exited;
  await prometheus?.stop();
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

test(
  'Prometheus scrapes the operator: consumer lag and worker replicas per campaign follow Kafka',
  { timeout: 180_000 },
  async () => {
    const name = 'promo';
    const campaignId = `${ns}.${name}`;
    const topic = `anshim.campaign.${ns}.${name}.bulk`;
    applyExampleCampaign(ns, name, {
      rateLimit: { messagesPerSecond: 2000 },
      audience: { datasetRef: { name: 'm' }, size: 300 },
    });
    const series = `{campaign="${campaignId}"}`;
    await prometheus.waitFor(`anshim_campaign_worker_replicas${series} == 0`, undefined, 60_000);
    await prometheus.waitFor(`anshim_campaign_consumer_lag${series} == 0`);

    const keys = new KubernetesKeyStore(kubeConfig(), [kek.provider]);
    const key = await eventually('the campaign data key', async () => (await keys.open(campaignId))[0]);
    await produceRecipients(kafka, topic, key, campaignId, fakeRecipients(300));
    await prometheus.waitFor(`anshim_campaign_consumer_lag${series} == 300`, undefined, 60_000);
    // 300 records at 100 a replica: the gauge shows what the operator set on the Deployment.
    await prometheus.waitFor(`anshim_campaign_worker_replicas${series} == 3`, undefined, 60_000);

    const consumer = kafka.consumer({ groupId: workerGroupId(campaignId) });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined });
    try {
      await prometheus.waitFor(`anshim_campaign_consumer_lag${series} == 0`, undefined, 60_000);
    } finally {
      await consumer.disconnect();
    }
    const labels = (await prometheus.query('{__name__=~"anshim_campaign_.+"}')).flatMap((s) => Object.keys(s.metric));
    assert.deepEqual([...new Set(labels)].sort(), ['__name__', 'campaign', 'instance', 'job']);
  },
);
