import * as k8s from '@kubernetes/client-node';
import { templateVariables } from '@anshim/core';
import {
  ACCEPTING_PHASES,
  GROUP,
  DATASET_COMPLETE,
  PLURAL,
  PURPOSE_LABEL,
  VERSION,
  campaignIdOf,
  campaignRefOf,
  campaignTopic,
  datasetConfigMapName,
  type MessagingCampaign,
} from '@anshim/api';
import type { CampaignInfo, CampaignLookup } from './campaigns.ts';
import type { AuditEvent } from './ingest.ts';

/**
 * Campaigns as the API server has them, each read reused for `cacheMs` (the message API takes
 * hundreds of OTPs a second; a phase change is seen within that time).
 */
export class KubernetesCampaignLookup implements CampaignLookup {
  private readonly api: k8s.CustomObjectsApi;
  private readonly cache = new Map<string, { at: number; mc: Promise<MessagingCampaign | undefined> }>();
  constructor(
    kc: k8s.KubeConfig,
    private readonly cacheMs = 2000,
  ) {
    this.api = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  object(campaignId: string): Promise<MessagingCampaign | undefined> {
    const hit = this.cache.get(campaignId);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.mc;
    const mc = this.fetch(campaignId);
    this.cache.set(campaignId, { at: Date.now(), mc });
    // Only a campaign that accepts recipients is remembered: one still Pending is asked again next time.
    mc.then(
      (got) => {
        if (!got || !ACCEPTING_PHASES.includes(got.status?.phase ?? 'Pending')) this.cache.delete(campaignId);
      },
      () => this.cache.delete(campaignId),
    );
    return mc;
  }

  private async fetch(campaignId: string): Promise<MessagingCampaign | undefined> {
    let ref: { namespace: string; name: string };
    try {
      ref = campaignRefOf(campaignId);
    } catch {
      return undefined;
    }
    try {
      return (await this.api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        ...ref,
      })) as MessagingCampaign;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async get(campaignId: string): Promise<CampaignInfo | undefined> {
    const mc = await this.object(campaignId);
    if (!mc) return undefined;
    return {
      purpose: mc.spec.purpose,
      priorityClass: mc.spec.priorityClass ?? 'bulk',
      phase: mc.status?.phase ?? 'Pending',
      // The topic the operator created, as it wrote it to status (computed for a campaign from
      // before status.topics; the phase keeps ingest out until the topic exists anyway).
      topic: mc.status?.topics?.campaign ?? campaignTopic(campaignIdOf(mc), mc.spec.priorityClass ?? 'bulk'),
      channel: mc.spec.channel,
      messagesPerSecond: mc.spec.rateLimit.messagesPerSecond,
      ...(mc.spec.acceptMessages !== undefined ? { acceptMessages: mc.spec.acceptMessages } : {}),
      templateVariables: templateVariables(mc.spec.template.body),
    };
  }
}

/**
 * After a completed upload: records the dataset (its purpose, for purpose binding, and its
 * counts — no personal data) in a ConfigMap, whose ingestComplete tells the operator the audience is whole.
 */
export class DatasetRecorder {
  private readonly core: k8s.CoreV1Api;
  constructor(
    kc: k8s.KubeConfig,
    private readonly lookup: KubernetesCampaignLookup,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async uploaded(event: AuditEvent): Promise<void> {
    if (event.type !== 'upload' || event.outcome !== 'completed') return;
    const mc = await this.lookup.object(event.campaignId);
    if (!mc) return;
    const { namespace } = mc.metadata;
    const dataset = mc.spec.audience.datasetRef.name;
    await this.core.patchNamespacedConfigMap(
      {
        namespace,
        name: datasetConfigMapName(dataset),
        fieldManager: 'anshim-gateway',
        force: true,
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: datasetConfigMapName(dataset),
            namespace,
            labels: { [PURPOSE_LABEL]: event.purpose, 'app.kubernetes.io/managed-by': 'anshim-gateway' },
          },
          data: {
            uploadId: event.uploadId ?? '',
            rows: String(event.counts?.rows ?? 0),
            accepted: String(event.counts?.accepted ?? 0),
            produced: String(event.produced),
            [DATASET_COMPLETE]: 'true',
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  }
}
