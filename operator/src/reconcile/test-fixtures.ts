// Campaigns and fleets for the reconcile unit tests.
import type { MessagingCampaign, MessagingFleet } from '@anshim/api';
import { FINALIZER } from '@anshim/api';

export function campaign(
  patch: {
    spec?: Partial<MessagingCampaign['spec']>;
    status?: MessagingCampaign['status'];
    metadata?: Partial<MessagingCampaign['metadata']>;
  } = {},
): MessagingCampaign {
  return {
    apiVersion: 'messaging.anshim.io/v1alpha1',
    kind: 'MessagingCampaign',
    metadata: {
      name: 'promo',
      namespace: 'mart',
      uid: 'u-1',
      generation: 2,
      finalizers: [FINALIZER],
      ...patch.metadata,
    },
    spec: {
      purpose: 'transactional',
      channel: 'TEXT',
      template: { body: '주문 #{order} 발송' },
      sender: { name: '안심마트', callbackNumber: '15881234' },
      processors: ['skt'],
      audience: { datasetRef: { name: 'orders' } },
      rateLimit: { messagesPerSecond: 1000 },
      ...patch.spec,
    },
    ...(patch.status ? { status: patch.status } : {}),
  };
}

export const fleet: MessagingFleet = {
  metadata: { name: 'default', namespace: 'mart' },
  spec: {
    kafka: { brokers: ['127.0.0.1:9092'], replicationFactor: 1 },
    carriers: [{ id: 'skt', address: '127.0.0.1:50051' }],
    worker: { image: 'anshim/worker:1' },
    scaling: { cooldownSeconds: 60, lagPerReplica: 1000 },
  },
};
