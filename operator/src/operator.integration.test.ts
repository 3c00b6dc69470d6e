import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createLogger } from '@anshim/core';
import { repoRoot, requireStack } from '@anshim/stack';
import { FINALIZER, GROUP, PLURAL, VERSION, type MessagingCampaign } from './campaign.ts';
import { CampaignController } from './controller.ts';
import { CampaignReconciler } from './reconciler.ts';

const CRD = join(repoRoot, 'operator/crds/messagingcampaigns.messaging.anshim.io.yaml');

function kubectl(args: string[], input?: string): string {
  const stack = requireStack();
  const r = spawnSync(stack.tools.kubectl, args, {
    env: { ...process.env, KUBECONFIG: stack.kubeconfig },
    input,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let admin: Admin;
let controller: CampaignController;
let api: k8s.CustomObjectsApi;

before(async () => {
  const stack = requireStack();
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRD]);
  kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd/messagingcampaigns.messaging.anshim.io']);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stack.kubeconfig);
  api = kc.makeApiClient(k8s.CustomObjectsApi);
  admin = new Kafka({ clientId: 'operator-it', brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const log = createLogger('operator', { level: 'warn' });
  controller = new CampaignController(kc, new CampaignReconciler(kc, admin, log), log);
  await controller.start();
});

after(async () => {
  await controller.stop();
  await admin.disconnect();
});

test(
  'kubectl apply a campaign: the operator adds its finalizer, creates its topic, reports status; kubectl delete removes both',
  { timeout: 120_000 },
  async () => {
    const name = `promo-${process.pid}-${Date.now() % 100000}`;
    const manifest = JSON.parse(
      execFileSync(
        requireStack().tools.kubectl,
        ['create', '--dry-run=client', '-o', 'json', '-f', join(repoRoot, 'examples/campaign.yaml')],
        {
          env: { ...process.env, KUBECONFIG: requireStack().kubeconfig },
          encoding: 'utf8',
        },
      ),
    ) as MessagingCampaign;
    manifest.metadata.name = name;
    manifest.spec.rateLimit.messagesPerSecond = 2000;
    kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
    const topic = `anshim.campaign.default.${name}.bulk`;

    const partitions = await eventually('the campaign topic', async () => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]?.partitions.length;
    });
    assert.equal(partitions, 4, '2,000 msg/s at 500 a partition');

    const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: 'default', name };
    const status = await eventually('TopicsReady in status', async () => {
      const mc = (await api.getNamespacedCustomObject(ref)) as MessagingCampaign;
      const ready = mc.status?.conditions?.find((c) => c.type === 'TopicsReady' && c.status === 'True');
      return ready ? mc : undefined;
    });
    assert.equal(status.status?.phase, 'Provisioning');
    assert.equal(status.status?.observedGeneration, status.metadata.generation);
    assert.ok(status.metadata.finalizers?.includes(FINALIZER));
    assert.match(kubectl(['get', 'mc', name]), new RegExp(`${name}\\s+Provisioning`));

    kubectl(['delete', 'mc', name, '--wait=false']);
    await eventually('the topic deleted', async () => ((await admin.listTopics()).includes(topic) ? undefined : true));
    await eventually('the campaign gone (finalizer released)', async () =>
      api.getNamespacedCustomObject(ref).then(
        () => undefined,
        () => true,
      ),
    );
  },
);
