import type { KubernetesObject } from '@kubernetes/client-node';

export const GROUP = 'messaging.anshim.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'messagingcampaigns';
export const FINALIZER = 'messaging.anshim.io/destroy-data';

export type Phase = 'Pending' | 'Provisioning' | 'Sending' | 'Draining' | 'Completed' | 'Destroyed' | 'Failed';
export type PriorityClass = 'bulk' | 'normal' | 'transactional' | 'alert';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The parts of a MessagingCampaign the control plane reads (the CRD schema validates the rest). */
export interface MessagingCampaign extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec: {
    purpose: string;
    channel: string;
    rateLimit: { messagesPerSecond: number };
    priorityClass?: PriorityClass;
    [key: string]: unknown;
  };
  status?: {
    phase?: Phase;
    observedGeneration?: number;
    conditions?: Condition[];
    [key: string]: unknown;
  };
}

/** Campaign ids are unique across namespaces and valid in Kafka topic names. */
export const campaignIdOf = (mc: MessagingCampaign): string => `${mc.metadata.namespace}.${mc.metadata.name}`;
