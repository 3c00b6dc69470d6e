import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessagingCampaign } from './campaign.ts';
import type { MessagingFleet } from './fleet.ts';
import { configHash, workerDeploymentFor, workerFileFor } from './workers.ts';

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
  const file = workerFileFor(mc, fleet, 'anshim.campaign.bank.otp.transactional', [Buffer.from('w')], 'kek-1');
  assert.deepEqual(Object.keys(file.carriers), ['skt', 'kt'], 'kakao is in the fleet but not a processor');
  assert.equal(file.groupId, 'anshim.worker.bank.otp');
  assert.deepEqual(file.campaigns[0]!.wrappedKeys, [Buffer.from('w').toString('base64')]);
});

test('the worker Deployment runs restricted, with its priority class, and rolls when its configuration changes', () => {
  const file = workerFileFor(mc, fleet, 't', [], 'kek-1');
  const d = workerDeploymentFor(mc, fleet, 2, configHash(file));
  const pod = d.spec!.template.spec!;
  assert.equal(d.spec!.replicas, 2);
  assert.equal(pod.priorityClassName, 'anshim-transactional');
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.deepEqual(pod.containers[0]!.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(d.metadata!.ownerReferences![0]!.uid, 'u-1');
  const other = configHash(workerFileFor(mc, fleet, 't', [Buffer.from('x')], 'kek-1'));
  assert.notEqual(other, configHash(file));
});
