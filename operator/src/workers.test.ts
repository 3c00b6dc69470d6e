import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MessagingCampaign, type MessagingFleet } from '@anshim/api';
import { configHash, workerDeploymentFor, workerFileFor } from './workers.ts';
const KEK = { id: 'kek-1', file: '/etc/anshim/kek/kek' };

const mc: MessagingCampaign = {
  apiVersion: 'messaging.anshim.io/v1alpha1',
  kind: 'MessagingCampaign',
  metadata: { name: 'otp', namespace: 'bank', uid: 'u-1' },
  spec: {
    purpose: 'transactional',
    channel: 'TEXT',
    template: { body: '[안심은행] 인증번호 #{code}' },
    sender: { name: '안심은행', callbackNumber: '15881234' },
    processors: ['skt', 'kt'],
    audience: { datasetRef: { name: 'otp' } },
    rateLimit: { messagesPerSecond: 100 },
    priorityClass: 'transactional',
  },
};
const fleet: MessagingFleet = {
  metadata: { name: 'default', namespace: 'bank' },
  spec: {
    kafka: { brokers: ['kafka:9092'] },
    carriers: [
      { id: 'skt', address: 'skt:443' },
      { id: 'kt', address: 'kt:443' },
      { id: 'kakao', address: 'kakao:443' },
    ],
    worker: { image: 'anshim/worker:1' },
    scaling: { classes: { transactional: { priorityClassName: 'anshim-transactional' } } },
  },
};

test("a campaign's workers only learn the carriers it lists as processors", () => {
  const file = workerFileFor(
    mc,
    fleet,
    { campaign: 'anshim.campaign.bank.otp.transactional' },
    [Buffer.from('w')],
    KEK,
  );
  assert.deepEqual(Object.keys(file.carriers), ['skt', 'kt'], 'kakao is in the fleet but not a processor');
  assert.equal(file.groupId, 'anshim.worker.bank.otp');
  assert.deepEqual(file.campaigns[0]!.wrappedKeys, [Buffer.from('w').toString('base64')]);
});

test('the worker Deployment runs restricted, with its priority class, and rolls when its configuration changes', () => {
  const file = workerFileFor(mc, fleet, { campaign: 't' }, [], KEK);
  const d = workerDeploymentFor(mc, fleet, 2, configHash(file));
  const pod = d.spec!.template.spec!;
  assert.equal(d.spec!.replicas, 2);
  assert.equal(pod.priorityClassName, 'anshim-transactional');
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.deepEqual(pod.containers[0]!.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(d.metadata!.ownerReferences![0]!.uid, 'u-1');
  const other = configHash(workerFileFor(mc, fleet, { campaign: 't' }, [Buffer.from('x')], KEK));
  assert.notEqual(other, configHash(file));
});

test('worker pods serve /metrics on the fleet port, named and annotated for Prometheus; off when the fleet says so', () => {
  const podOf = (f: MessagingFleet) => workerDeploymentFor(mc, f, 1, 'h').spec!.template;
  const container = (f: MessagingFleet) => podOf(f).spec!.containers[0]!;
  // Default (the CRD defaults it too): on, 9464.
  assert.deepEqual(container(fleet).ports, [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
  assert.deepEqual(
    container(fleet).env!.find((e) => e.name === 'ANSHIM_METRICS_PORT'),
    { name: 'ANSHIM_METRICS_PORT', value: '9464' },
  );
  assert.deepEqual(podOf(fleet).metadata!.annotations, {
    'messaging.anshim.io/config-hash': 'h',
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': '9464',
    'prometheus.io/path': '/metrics',
  });

  const custom: MessagingFleet = { ...fleet, spec: { ...fleet.spec, metrics: { enabled: true, port: 9100 } } };
  assert.equal(container(custom).ports![0]!.containerPort, 9100);
  assert.equal(container(custom).env!.find((e) => e.name === 'ANSHIM_METRICS_PORT')!.value, '9100');
  assert.equal(podOf(custom).metadata!.annotations!['prometheus.io/port'], '9100');

  const off: MessagingFleet = { ...fleet, spec: { ...fleet.spec, metrics: { enabled: false, port: 9100 } } };
  assert.equal(container(off).ports, undefined);
  assert.ok(!container(off).env!.some((e) => e.name.startsWith('ANSHIM_METRICS')));
  assert.deepEqual(Object.keys(podOf(off).metadata!.annotations!), ['messaging.anshim.io/config-hash']);
});

test("worker pods export spans to the fleet's OTLP endpoint, and set none when it names none", () => {
  const otlpEnv = (f: MessagingFleet) =>
    workerDeploymentFor(mc, f, 1, 'h').spec!.template.spec!.containers[0]!.env!.filter((e) =>
      e.name.startsWith('OTEL_'),
    );
  assert.deepEqual(otlpEnv(fleet), []);
  const traced: MessagingFleet = {
    ...fleet,
    spec: { ...fleet.spec, tracing: { otlpEndpoint: 'http://otel-collector.monitoring:4318' } },
  };
  assert.deepEqual(otlpEnv(traced), [
    { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.monitoring:4318' },
  ]);
});

test("worker pods pull with the fleet's image pull Secrets, and with none when it names none", () => {
  const pull = (f: MessagingFleet) => workerDeploymentFor(mc, f, 1, 'h').spec!.template.spec!.imagePullSecrets;
  assert.equal(pull(fleet), undefined);
  const secrets = [{ name: 'anshim-registry' }, { name: 'mirror' }];
  const withSecrets: MessagingFleet = {
    ...fleet,
    spec: { ...fleet.spec, worker: { ...fleet.spec.worker, imagePullSecrets: secrets } },
  };
  assert.deepEqual(pull(withSecrets), secrets);
});

test('schedule.notAfter travels as an absolute time: the worker file (and its hash) does not change as time passes', () => {
  const scheduled: MessagingCampaign = { ...mc, spec: { ...mc.spec, schedule: { notAfter: '2026-12-24T15:00:00Z' } } };
  const file = () => workerFileFor(scheduled, fleet, { campaign: 't' }, [Buffer.from('w')], KEK);
  const spec = file().campaigns[0]!.spec;
  assert.equal(spec.notAfterMs, Date.parse('2026-12-24T15:00:00Z'));
  assert.equal(spec.ttlMs, 0);
  // Before, ttlMs was notAfter − Date.now(): a new file, and a rolled Deployment, at every reconcile.
  assert.equal(JSON.stringify(file()), JSON.stringify(file()));
  assert.equal(workerFileFor(mc, fleet, { campaign: 't' }, [], KEK).campaigns[0]!.spec.notAfterMs, undefined);
});

test("a fleet's Kafka user reaches its workers as a mounted Secret the worker file names; none, none mounted", () => {
  const sasl: MessagingFleet = {
    ...fleet,
    spec: { ...fleet.spec, kafka: { brokers: ['kafka:9092'], sasl: { secretName: 'kafka-worker' } } },
  };
  const file = workerFileFor(mc, sasl, { campaign: 't' }, [], KEK);
  assert.deepEqual(file.kafkaSasl, {
    mechanism: 'scram-sha-512',
    usernameFile: '/etc/anshim/kafka/username',
    passwordFile: '/etc/anshim/kafka/password',
  });
  const pod = workerDeploymentFor(mc, sasl, 1, 'h').spec!.template.spec!;
  assert.equal(pod.volumes!.find((v) => v.name === 'kafka-user')?.secret?.secretName, 'kafka-worker');
  assert.equal(pod.containers[0]!.volumeMounts!.find((m) => m.name === 'kafka-user')?.mountPath, '/etc/anshim/kafka');

  assert.equal(workerFileFor(mc, fleet, { campaign: 't' }, [], KEK).kafkaSasl, undefined);
  const plain = workerDeploymentFor(mc, fleet, 1, 'h').spec!.template.spec!;
  assert.equal(
    plain.volumes!.some((v) => v.name === 'kafka-user'),
    false,
  );
});
