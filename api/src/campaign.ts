import type { KubernetesObject } from '@kubernetes/client-node';
import type { CampaignChannel, Phase, PriorityClass, Purpose } from './vocabulary.ts';

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

/** The Kafka topics the operator created for a campaign, as it created them. */
export interface CampaignTopics {
  /** Where the campaign's sealed recipients are produced. */
  campaign: string;
  /** Advertising only: where messages wait out the night window. */
  hold?: string;
}

/** The campaign's worker Deployment as the operator last scaled it, and why. */
export interface WorkersStatus {
  deployment?: string;
  replicas?: number;
  lag?: number;
  reason?: string;
  /** When lag was last seen above zero: starts the cool-down before scaling to zero. */
  lastActiveTime?: string;
  /** When the replica count last changed: the stabilisation window runs from here. */
  lastScaleTime?: string;
}

export interface CampaignStatus {
  phase?: Phase;
  observedGeneration?: number;
  conditions?: Condition[];
  counts?: CampaignCounts;
  topics?: CampaignTopics;
  workers?: WorkersStatus;
  keyId?: string;
  startTime?: string;
  completionTime?: string;
  destructionCertificateRef?: { name: string };
}

export interface CampaignSpecFields {
  purpose: Purpose;
  channel: CampaignChannel;
  fallback?: CampaignChannel[];
  template: { body: string; alimtalkTemplateCode?: string };
  sender: { name: string; callbackNumber: string; optOutNumber?: string };
  processors: string[];
  audience: { datasetRef: { name: string }; size?: number };
  schedule?: { startAt?: string; notAfter?: string };
  rateLimit: { messagesPerSecond: number };
  priorityClass?: PriorityClass;
  /** The single-message API may add recipients (default: transactional and alert classes only; never advertising). */
  acceptMessages?: boolean;
  fleet?: string;
  retentionAfterCompletion?: string;
}

/** A MessagingCampaign (charts/anshim/crds/messagingcampaigns…yaml; the API server validates the rest). */
export interface MessagingCampaign extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec: CampaignSpecFields;
  status?: CampaignStatus;
}

/** Campaign ids are unique across namespaces and valid in Kafka topic names (namespaces have no dots). */
export const campaignIdOf = (mc: Pick<MessagingCampaign, 'metadata'>): string =>
  `${mc.metadata.namespace}.${mc.metadata.name}`;

export class CampaignIdError extends Error {
  override readonly name = 'CampaignIdError';
}

/** The inverse of campaignIdOf. */
export function campaignRefOf(campaignId: string): { namespace: string; name: string } {
  const dot = campaignId.indexOf('.');
  if (dot <= 0) throw new CampaignIdError(`not a campaign id (want <namespace>.<name>): ${campaignId}`);
  return { namespace: campaignId.slice(0, dot), name: campaignId.slice(dot + 1) };
}

/** A Go duration as the CRD admits it (e.g. 24h, 1h30m, 90s) in milliseconds. */
export function parseDuration(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(h|m|s)/g))
    ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000 }[unit as 'h' | 'm' | 's'];
  return ms;
}
