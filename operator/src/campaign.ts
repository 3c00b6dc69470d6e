import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export const GROUP = 'messaging.anshim.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'messagingcampaigns';
export const FLEET_PLURAL = 'messagingfleets';
export const FINALIZER = 'messaging.anshim.io/destroy-data';
/** Label on everything the operator creates for a campaign. */
export const CAMPAIGN_LABEL = 'messaging.anshim.io/campaign';

export type Phase = 'Pending' | 'Provisioning' | 'Sending' | 'Draining' | 'Completed' | 'Destroyed' | 'Failed';
export type PriorityClass = 'bulk' | 'normal' | 'transactional' | 'alert';
export type Purpose = 'advertising' | 'informational' | 'transactional';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface CampaignCounts {
  queued: number;
  sent: number;
  delivered: number;
  failed: number;
  fellBack: number;
  failedByResult: Record<string, number>;
}

export interface CampaignStatus {
  phase?: Phase;
  observedGeneration?: number;
  conditions?: Condition[];
  counts?: CampaignCounts;
  workers?: {
    deployment?: string;
    replicas?: number;
    lag?: number;
    reason?: string;
    lastActiveTime?: string;
    lastScaleTime?: string;
  };
  keyId?: string;
  startTime?: string;
  completionTime?: string;
  destructionCertificateRef?: { name: string };
}

/** The parts of a MessagingCampaign the control plane reads (the CRD schema validates the rest). */
export interface MessagingCampaign extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec: {
    purpose: Purpose;
    channel: string;
    fallback?: string[];
    template: { body: string; alimtalkTemplateCode?: string };
    sender: { name: string; callbackNumber: string; optOutNumber?: string };
    processors: string[];
    audience: { datasetRef: { name: string }; size?: number };
    schedule?: { startAt?: string; notAfter?: string };
    rateLimit: { messagesPerSecond: number };
    priorityClass?: PriorityClass;
    fleet?: string;
    retentionAfterCompletion?: string;
  };
  status?: CampaignStatus;
}

/** Campaign ids are unique across namespaces and valid in Kafka topic names (namespaces have no dots). */
export const campaignIdOf = (mc: MessagingCampaign): string => `${mc.metadata.namespace}.${mc.metadata.name}`;

/** The inverse of campaignIdOf. */
export function campaignRefOf(campaignId: string): { namespace: string; name: string } {
  const dot = campaignId.indexOf('.');
  if (dot <= 0) throw new Error(`not a campaign id: ${campaignId}`);
  return { namespace: campaignId.slice(0, dot), name: campaignId.slice(dot + 1) };
}

/** A Go duration as the CRD admits it (e.g. 24h, 1h30m, 90s) in milliseconds. */
export function parseDuration(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(h|m|s)/g))
    ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000 }[unit as 'h' | 'm' | 's'];
  return ms;
}

/** Reads campaigns of one namespace from the API server (for tools, the quick start and tests). */
export function campaignReader(kc: KubeConfig, namespace: string): (name: string) => Promise<MessagingCampaign> {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (name) =>
    (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as MessagingCampaign;
}
