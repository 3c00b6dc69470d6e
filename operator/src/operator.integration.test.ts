import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Admin, Kafka } from 'kafkajs';
import { generateDataKey, LocalKekProvider, type KeyError } from '@anshim/core';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { FINALIZER, GROUP, PLURAL, VERSION, type MessagingCampaign, keySecretName, TOPICS } from '@anshim/api';
import {
  campaignReader,
  requireStack,
  repoRoot,
  fakeRecipients,
  produceRecipients,
  stackKafka,
  applyFleet,
  createNamespace,
  deleteCampaigns,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  leaseHolder,
  startOperator,
  testKek,
  type OperatorProcess,
} from '@anshim/dev-platform';
import type { DestructionRecord } from './destruction.ts';
import { KubernetesKeyStore } from '@anshim/keystore';
import { workerName } from './workers.ts';
import { NAMESPACE_KEK_SECRET, workerGroupId } from '@anshim/api';

const kek = testKek();
let ns: string;
let kc: k8s.KubeConfig;
let kafka: Kafka;
let admin: Admin;
let custom: k8s.CustomObjectsApi;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
const operators: OperatorProcess[] = [];

function campaignManifest(name: string, overrides: Partial<MessagingCampaign['spec']> = {}): MessagingCampaign {
  const example = JSON.parse(
    kubectl(['create', '--dry-run=client', '-o', 'json', '-f', join(repoRoot, 'examples/campaign.yaml')]),
  ) as MessagingCampaign;
  return {
    ...example,
    metadata: { name, namespace: ns },
    spec: { ...example.spec, rateLimit: { messagesPerSecond: 2000 }, retentionAfterCompletion: '2s', ...overrides },
  };
}

const getMc = (name: string) => campaignReader(kc, ns)(name);
const readDeployment = (name: string) => apps.readNamespacedDeployment({ namespace: ns, name });
const topicOf = (name: string) => `anshim.campaign.${ns}.${name}.bulk`;
const eventsOf = async (name: string) =>
  (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;

const alive = (op: OperatorProcess): boolean => op.child.exitCode === null && op.child.signalCode === null;

function launch(identity: string): OperatorProcess {
  const op = startOperator(identity, ns, kek);
  operators.push(op);
  return op;
}

/** Lag for a campaign's worker group goes to zero: a consumer in that group reads and commits everything. */
async function drain(campaignId: string, topic: string, count: number): Promise<void> {
  const consumer = kafka.consumer({ groupId: workerGroupId(campaignId) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await consumer.run({ eachMessage: async () => void seen++ });
  await eventually('the drain consumer to read every record', async () => (seen >= count ? true : undefined), 60_000);
  await consumer.disconnect();
}

before(async () => {
  installCrds();
  ns = createNamespace('op-it');
  kc = kubeConfig();
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  kafka = stackKafka('operator-it');
  admin = kafka.admin();
  await admin.connect();
  applyFleet(ns);
  launch('op-a');
});

after(async () => {
  await deleteCampaigns(ns).catch((err: Error) => console.error(err.message));
  for (const op of operators) if (alive(op)) op.child.kill('SIGTERM');
  await Promise.all(operators.map((op) => op.exited));
  await admin.disconnect();
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('the operator process against the real API server and Kafka', { timeout: 300_000 }, () => {
  test('a campaign is provisioned, its workers follow the lag, its status follows progress, and retention shreds it', async () => {
    const name = 'promo';
    const campaignId = `${ns}.${name}`;
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(campaignManifest(name, { audience: { datasetRef: { name: 'members' }, size: 300 } })),
    );

    const provisioned = await eventually('Provisioning with workers scaled to zero', async () => {
      const mc = await getMc(name);
      return mc.status?.phase === 'Provisioning' &&
        mc.status.conditions?.some((c) => c.type === 'WorkersReady' && c.reason === 'ScaledToZero')
        ? mc
        : undefined;
    });
    assert.ok(provisioned.metadata.finalizers?.includes(FINALIZER));
    assert.equal((await admin.fetchTopicMetadata({ topics: [topicOf(name)] })).topics[0]?.partitions.length, 4);
    // An advertising campaign: its night-window hold topic too.
    assert.deepEqual(
      provisioned.status?.topics,
      { campaign: topicOf(name), hold: `anshim.hold.${campaignId}` },
      'status names the topics it created',
    );
    assert.ok((await admin.listTopics()).includes(`anshim.hold.${campaignId}`));
    const deployment = await readDeployment(workerName(provisioned));
    assert.equal(deployment.spec?.replicas, 0);
    const pod = deployment.spec!.template.spec!;
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.containers[0]!.securityContext?.allowPrivilegeEscalation, false);
    const workerSecret = await core.readNamespacedSecret({ namespace: ns, name: workerName(provisioned) });
    const workerJson = JSON.parse(Buffer.from(workerSecret.data!['worker.json']!, 'base64').toString()) as {
      topics: string[];
      carriers: Record<string, unknown>;
      campaigns: Array<{ spec: { template: string } }>;
    };
    assert.deepEqual(workerJson.topics, [topicOf(name)]);
    assert.deepEqual(Object.keys(workerJson.carriers).sort(), ['kakao', 'kt', 'lguplus', 'skt']);
    assert.match(workerJson.campaigns[0]!.spec.template, /^\(광고\) ?안심마트/);
    // The namespace's own KMS token, written by the operator where the workers mount it: no key
    // material at all, and it opens this campaign's wrapped key (a key of its own in the KMS),
    // which the local platform KEK does not, nor another namespace's.
    const nsKek = await core.readNamespacedSecret({ namespace: ns, name: NAMESPACE_KEK_SECRET });
    assert.deepEqual(Object.keys(nsKek.data!).sort(), ['id', 'token']);
    assert.equal(Buffer.from(nsKek.data!.id!, 'base64').toString(), kek.provider.id);
    assert.ok(pod.volumes!.some((v) => v.name === 'kek' && v.secret?.secretName === NAMESPACE_KEK_SECRET));
    const wrappedKey = Buffer.from(
      (workerJson.campaigns[0] as unknown as { wrappedKeys: string[] }).wrappedKeys[0]!,
      'base64',
    );
    const kms = requireStack().kms;
    const nsToken = Buffer.from(nsKek.data!.token!, 'base64').toString();
    const asNamespace = new TransitKekProvider({ client: new TransitClient({ address: kms.address, token: nsToken }) });
    await asNamespace.unwrap(wrappedKey, campaignId);
    await assert.rejects(
      new LocalKekProvider(kek.id, Buffer.from(readFileSync(kek.file, 'utf8').trim(), 'hex')).unwrap(
        wrappedKey,
        campaignId,
      ),
    );
    const elsewhere = `${ns}x.other`;
    const operatorKms = new TransitKekProvider({
      client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.operator }),
    });
    const foreign = await operatorKms.wrap(generateDataKey(elsewhere), elsewhere);
    await assert.rejects(asNamespace.unwrap(foreign, elsewhere), (e: KeyError) => e.reason === 'unwrap-failed');

    // The data key exists only wrapped; the gateway's path (open, seal, produce) creates lag.
    const keys = new KubernetesKeyStore(kc, [kek.provider]);
    const [key] = await keys.open(campaignId);
    assert.equal(key!.id, provisioned.status?.keyId);
    await produceRecipients(kafka, topicOf(name), key!, campaignId, fakeRecipients(300));

    const scaled = await eventually('workers scaled up by the lag', async () => {
      const d = await readDeployment(workerName(provisioned));
      return (d.spec?.replicas ?? 0) > 0 ? d.spec!.replicas : undefined;
    });
    assert.equal(scaled, 3, 'lag 300 at 100 a replica, under 4 partitions and 2,000 msg/s ÷ 500');
    const sending = await eventually('Sending', async () => {
      const mc = await getMc(name);
      return mc.status?.phase === 'Sending' ? mc : undefined;
    });
    assert.equal(sending.status?.counts?.queued, 300);
    assert.match(kubectl(['get', 'mc', name, '-n', ns]), new RegExp(`${name}\\s+Sending`));

    // Workers consume everything (lag 0) and report final outcomes through the progress topic.
    await drain(campaignId, topicOf(name), 300);
    await eventually('Draining while outcomes are missing', async () =>
      (await getMc(name)).status?.phase === 'Draining' ? true : undefined,
    );
    const producer = kafka.producer();
    await producer.connect();
    const progress = (workerId: string, delivered: number, failed: number, fellBack: number) => ({
      key: `${campaignId}/${workerId}`,
      value: JSON.stringify({
        campaignId,
        workerId,
        sent: delivered + failed,
        duplicates: 0,
        results: { DELIVERED: delivered, NO_SUCH_NUMBER: failed },
        fellBack,
        deadLettered: {},
        updatedAt: Date.now(),
      }),
    });
    await producer.send({ topic: TOPICS.progress, messages: [progress('w1', 100, 0, 3), progress('w2', 190, 10, 4)] });
    await producer.disconnect();

    const completed = await eventually('Completed', async () => {
      const mc = await getMc(name);
      return mc.status?.completionTime ? mc : undefined;
    });
    assert.deepEqual(completed.status?.counts, {
      queued: 300,
      sent: 300,
      delivered: 290,
      failed: 10,
      fellBack: 7,
      failedByResult: { NO_SUCH_NUMBER: 10 },
    });

    // Retention (2 s) ends: workers, topic and key are gone, the record stays, the finalizer goes.
    const destroyed = await eventually(
      'Destroyed',
      async () => {
        const mc = await getMc(name);
        return mc.status?.phase === 'Destroyed' && !mc.metadata.finalizers?.includes(FINALIZER) ? mc : undefined;
      },
      60_000,
    );
    assert.ok(destroyed.status?.conditions?.some((c) => c.type === 'DataDestroyed' && c.status === 'True'));
    assert.equal((await admin.listTopics()).includes(topicOf(name)), false);
    await assert.rejects(readDeployment(workerName(destroyed)), (e: { code?: number }) => e.code === 404);
    await assert.rejects(keys.open(campaignId), (e: KeyError) => e.reason === 'campaign-key-destroyed');
    const tombstone = await core.readNamespacedSecret({ namespace: ns, name: keySecretName(name) });
    assert.deepEqual(tombstone.data ?? {}, {}, 'no wrapped key left in etcd');
    const cm = await core.readNamespacedConfigMap({
      namespace: ns,
      name: destroyed.status!.destructionCertificateRef!.name,
    });
    const record = JSON.parse(cm.data!['record.json']!) as DestructionRecord;
    assert.equal(record.trigger, 'retention-ended');
    assert.deepEqual(record.keyIds, [key!.id]);
    assert.ok((record.completionToDestructionSeconds ?? -1) >= 2, JSON.stringify(record));
    const reasons = (await eventsOf(name)).map((e) => e.reason);
    for (const r of ['Provisioning', 'ScaledWorkers', 'Sending', 'Draining', 'Completed', 'DataDestroyed', 'Destroyed'])
      assert.ok(reasons.includes(r), `event ${r} in ${reasons.join(',')}`);
  });

  test('kill -9 the operator mid-campaign: a new one converges without recreating anything; kubectl delete shreds', async () => {
    const name = 'restart';
    const campaignId = `${ns}.${name}`;
    kubectl(['apply', '-f', '-'], JSON.stringify(campaignManifest(name)));
    const keys = new KubernetesKeyStore(kc, [kek.provider]);
    const [key] = await eventually('the campaign key', async () => keys.open(campaignId));
    await produceRecipients(kafka, topicOf(name), key!, campaignId, fakeRecipients(120));
    const before = await eventually('workers scaled', async () => {
      const d = await readDeployment(`anshim-worker-${name}`);
      return (d.spec?.replicas ?? 0) >= 2 ? d : undefined;
    });
    const keySecret = await core.readNamespacedSecret({ namespace: ns, name: keySecretName(name) });

    const leader = operators.find(alive)!;
    leader.child.kill('SIGKILL');
    await leader.exited;
    const next = launch('op-b');
    await eventually('the new operator holds the lease', async () =>
      (await leaseHolder(kc, ns)) === next.identity ? true : undefined,
    );
    await drain(campaignId, topicOf(name), 120);
    // No reports come (no worker sends here): the campaign drains, and one worker stays up to
    // take the carriers' outstanding reports.
    await eventually(
      'scale down to the one draining worker after lag is gone, by the new operator',
      async () => {
        const d = await readDeployment(`anshim-worker-${name}`);
        return (d.spec?.replicas ?? 9) === 1 ? d : undefined;
      },
      60_000,
    );
    assert.equal((await getMc(name)).status?.phase, 'Draining');
    const after = await readDeployment(`anshim-worker-${name}`);
    assert.equal(after.metadata?.uid, before.metadata?.uid, 'the Deployment was not recreated');
    assert.equal(
      (await core.readNamespacedSecret({ namespace: ns, name: keySecretName(name) })).metadata?.uid,
      keySecret.metadata?.uid,
      'the key was not recreated',
    );
    const offsets = await admin.fetchTopicOffsets(topicOf(name));
    assert.equal(
      offsets.reduce((n, p) => n + Number(p.high), 0),
      120,
      'the topic was not recreated',
    );
    const scaledBy = (await eventsOf(name)).filter((e) => e.reason === 'ScaledWorkers').map((e) => e.reportingInstance);
    assert.ok(scaledBy.includes(next.identity), `scale-down by ${next.identity}: ${scaledBy.join(',')}`);

    kubectl(['delete', 'mc', name, '-n', ns, '--wait=false']);
    await eventually('the campaign gone (finalizer released)', async () =>
      getMc(name).then(
        () => undefined,
        () => true,
      ),
    );
    assert.equal((await admin.listTopics()).includes(topicOf(name)), false);
    await assert.rejects(keys.open(campaignId), (e: KeyError) => e.reason === 'campaign-key-destroyed');
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: `anshim-destruction-${name}` });
    assert.equal((JSON.parse(cm.data!['record.json']!) as DestructionRecord).trigger, 'deleted');
  });

  test('a dataset collected for another purpose is refused, with the reason in status', async () => {
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'anshim-dataset-newsletter',
          namespace: ns,
          labels: { 'messaging.anshim.io/purpose': 'informational' },
        },
      }),
    );
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(campaignManifest('repurposed', { audience: { datasetRef: { name: 'newsletter' } } })),
    );
    const failed = await eventually('Failed', async () => {
      const mc = await getMc('repurposed');
      return mc.status?.phase === 'Failed' ? mc : undefined;
    });
    const bound = failed.status?.conditions?.find((c) => c.type === 'PurposeBound');
    assert.equal(bound?.status, 'False');
    assert.equal(bound?.reason, 'PurposeMismatch');
    assert.match(bound?.message ?? '', /collected for informational; it cannot be used for advertising/);
    assert.equal((await admin.listTopics()).includes(topicOf('repurposed')), false, 'nothing provisioned');
  });

  test('two operator processes: only the lease holder reconciles; the standby takes over when it stops', async () => {
    const leader = operators.find(alive)!;
    const standby = launch('op-c');
    await eventually('the second operator stands by', async () =>
      /standing by/.test(readFileSync(standby.logFile, 'utf8')) ? true : undefined,
    );
    assert.equal(await leaseHolder(kc, ns), leader.identity);
    kubectl(['apply', '-f', '-'], JSON.stringify(campaignManifest('two')));
    await eventually('the campaign reconciled', async () => ((await getMc('two')).status?.phase ? true : undefined));
    // Its events come after the status patch that set the phase: wait for them, not for the phase.
    const events = await eventually('the campaign has events', async () => {
      const found = await eventsOf('two');
      return found.length > 0 ? found : undefined;
    });
    const instances = new Set(events.map((e) => e.reportingInstance));
    assert.deepEqual([...instances], [leader.identity], 'only the leader wrote events');
    assert.doesNotMatch(readFileSync(standby.logFile, 'utf8'), /reconciling campaigns/);

    leader.child.kill('SIGTERM'); // a clean stop releases the lease
    assert.equal(await leader.exited, 0);
    await eventually('the standby leads', async () =>
      (await leaseHolder(kc, ns)) === standby.identity ? true : undefined,
    );
    kubectl(['delete', 'mc', 'two', '-n', ns, '--wait=false']);
    await eventually('the standby finalizes the deleted campaign', async () =>
      getMc('two').then(
        () => undefined,
        () => true,
      ),
    );
    assert.match(readFileSync(standby.logFile, 'utf8'), /reconciling campaigns/);
  });
});

test(
  'an unreachable Kafka becomes a condition with a reason and a retry, not a crash',
  { timeout: 180_000 },
  async () => {
    const other = createNamespace('op-nokafka');
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'MessagingFleet',
        metadata: { name: 'default', namespace: other },
        spec: {
          kafka: { brokers: ['127.0.0.1:1'] },
          carriers: [{ id: 'skt', address: '127.0.0.1:2' }],
          worker: { image: 'w' },
        },
      }),
    );
    const op = startOperator('op-nokafka', other, kek, { brokers: ['127.0.0.1:1'] });
    try {
      const mc = campaignManifest('stranded');
      kubectl(['apply', '-f', '-'], JSON.stringify({ ...mc, metadata: { name: 'stranded', namespace: other } }));
      const cond = await eventually(
        'TopicsReady False',
        async () => {
          const got = (await custom.getNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace: other,
            name: 'stranded',
          })) as MessagingCampaign;
          return got.status?.conditions?.find((c) => c.type === 'TopicsReady' && c.status === 'False');
        },
        150_000,
      );
      assert.equal(cond.reason, 'KafkaUnavailable');
      assert.ok(cond.message.length > 0);
      assert.equal(op.child.exitCode, null, 'the operator is still running');
      const warnings = (await core.listNamespacedEvent({ namespace: other })).items.filter((e) => e.type === 'Warning');
      assert.ok(warnings.some((e) => e.reason === 'KafkaUnavailable'));
    } finally {
      op.child.kill('SIGTERM');
      await op.exited;
      // Release the finalizer by hand: this operator cannot reach Kafka to clean up, and none other watches here.
      kubectl(['patch', 'mc', 'stranded', '-n', other, '--type=merge', '-p', '{"metadata":{"finalizers":[]}}']);
    }
  },
);
