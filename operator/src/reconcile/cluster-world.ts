import * as k8s from '@kubernetes/client-node';
import type { Admin } from 'kafkajs';
import type { AuditEvent } from '@anshim/compliance';
import { KeyError, type Logger } from '@anshim/core';
import {
  FLEET_PLURAL,
  GROUP,
  PLURAL,
  PURPOSE_LABEL,
  VERSION,
  campaignIdOf,
  DATASET_COMPLETE,
  datasetConfigMapName,
  NAMESPACE_KEK_SECRET,
  type CampaignStatus,
  type MessagingCampaign,
  type MessagingFleet,
} from '@anshim/api';
import type { KubernetesKeyStore } from '@anshim/keystore';
import type { DestructionRecorder } from '../destruction.ts';
import type { NamespaceKeyAccess } from '../namespace-keys.ts';
import type { EventRecorder } from '../events.ts';
import { readLag, type TopicLag } from '../lag.ts';
import type { ProgressFeed } from '../progress-feed.ts';
import type { OperatorMetrics } from '../telemetry.ts';
import { planTopic } from '../topics.ts';
import { ownerOf, workerName } from '../workers.ts';
import type { KeyState } from './provision.ts';
import type { DeploymentState } from './scale.ts';
import type { Action } from './step.ts';
import type { CampaignWorld, DatasetRecord } from './world.ts';

export interface ClusterWorldDeps {
  kc: k8s.KubeConfig;
  admin: Admin;
  keys: KubernetesKeyStore;
  progress: Pick<ProgressFeed, 'counts' | 'forget' | 'ready'>;
  events: Pick<EventRecorder, 'emit'>;
  destruction: DestructionRecorder;
  /** The tamper-evident audit chain every phase change is appended to. */
  audit?: { append(event: AuditEvent): Promise<void> };
  metrics?: Pick<OperatorMetrics, 'forget'>;
  /** What the namespace's workers unwrap with (a KMS token, or a derived KEK), written where they mount it. */
  namespaceKeys?: NamespaceKeyAccess;
  log: Logger;
  now: () => number;
}

const FIELD_MANAGER = 'anshim-operator';
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
const isNotFound = (err: unknown): boolean => (err as { code?: number }).code === 404;
const unlessNotFound = (err: unknown): undefined => {
  if (isNotFound(err)) return undefined;
  throw err;
};

/** The world as the API server and Kafka hold it. */
export class ClusterWorld implements CampaignWorld {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;

  constructor(private readonly d: ClusterWorldDeps) {
    this.custom = d.kc.makeApiClient(k8s.CustomObjectsApi);
    this.apps = d.kc.makeApiClient(k8s.AppsV1Api);
    this.core = d.kc.makeApiClient(k8s.CoreV1Api);
  }

  private ref(mc: MessagingCampaign) {
    return { group: GROUP, version: VERSION, plural: PLURAL, namespace: mc.metadata.namespace, name: mc.metadata.name };
  }

  async dataset(mc: MessagingCampaign): Promise<DatasetRecord | undefined> {
    const name = datasetConfigMapName(mc.spec.audience.datasetRef.name);
    const cm = await this.core
      .readNamespacedConfigMap({ namespace: mc.metadata.namespace, name })
      .catch(unlessNotFound);
    if (!cm) return undefined;
    const purpose = cm.metadata?.labels?.[PURPOSE_LABEL];
    return { ...(purpose ? { purpose } : {}), complete: cm.data?.[DATASET_COMPLETE] === 'true' };
  }

  async fleet(mc: MessagingCampaign): Promise<MessagingFleet | undefined> {
    const name = mc.spec.fleet ?? 'default';
    return (await this.custom
      .getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: FLEET_PLURAL,
        namespace: mc.metadata.namespace,
        name,
      })
      .catch(unlessNotFound)) as MessagingFleet | undefined;
  }

  async topicPartitions(names: string[]): Promise<Map<string, number>> {
    const { topics } = await this.d.admin.fetchTopicMetadata({ topics: [] });
    const wanted = new Set(names);
    return new Map(topics.filter((t) => wanted.has(t.name)).map((t) => [t.name, t.partitions.length]));
  }

  async ensureKey(mc: MessagingCampaign): Promise<KeyState> {
    try {
      return { kind: 'ready', keyId: await this.d.keys.ensure(campaignIdOf(mc), ownerOf(mc)) };
    } catch (err) {
      if (err instanceof KeyError && err.reason === 'campaign-key-destroyed') return { kind: 'destroyed' };
      if (err instanceof KeyError && err.reason === 'kms-unavailable')
        return { kind: 'kms-unavailable', message: err.message };
      throw err;
    }
  }

  wrappedKeys(mc: MessagingCampaign): Promise<Buffer[]> {
    return this.d.keys.wrapped(campaignIdOf(mc));
  }

  lag(groupId: string, topic: string): Promise<TopicLag> {
    return readLag(this.d.admin, groupId, topic);
  }

  async deployment(mc: MessagingCampaign): Promise<DeploymentState | undefined> {
    const found = await this.apps
      .readNamespacedDeployment({ namespace: mc.metadata.namespace, name: workerName(mc) })
      .catch(unlessNotFound);
    if (!found) return undefined;
    return { replicas: found.spec?.replicas ?? 0, readyReplicas: found.status?.readyReplicas ?? 0 };
  }

  progress(mc: MessagingCampaign, queued: number) {
    return this.d.progress.ready ? this.d.progress.counts(campaignIdOf(mc), queued) : undefined;
  }

  async patchStatus(mc: MessagingCampaign, status: CampaignStatus): Promise<string | undefined> {
    const patched = (await this.custom.patchNamespacedCustomObjectStatus(
      { ...this.ref(mc), body: { status } },
      mergePatch,
    )) as MessagingCampaign;
    return patched.metadata.resourceVersion;
  }

  async execute(mc: MessagingCampaign, action: Action, status: CampaignStatus): Promise<{ record?: string }> {
    const { namespace } = mc.metadata;
    const name = workerName(mc);
    switch (action.kind) {
      case 'set-finalizers':
        await this.custom.patchNamespacedCustomObject(
          {
            ...this.ref(mc),
            body: { metadata: { finalizers: action.finalizers, resourceVersion: mc.metadata.resourceVersion } },
          },
          mergePatch,
        );
        return {};
      case 'create-topics':
        await this.d.admin.createTopics({
          topics: action.topics.map(({ configs, ...t }) => ({
            ...t,
            configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
          })),
          waitForLeaders: true,
        });
        return {};
      case 'add-partitions':
        await this.d.admin.createPartitions({ topicPartitions: [{ topic: action.topic, count: action.count }] });
        return {};
      case 'apply-workers': {
        // Server-side apply: creates or updates, and owns only the fields it sets.
        const common = { namespace, name, fieldManager: FIELD_MANAGER, force: true };
        await this.applyNamespaceKek(namespace);
        await this.core.patchNamespacedSecret({ ...common, body: action.secret }, applyPatch);
        await this.apps.patchNamespacedDeployment({ ...common, body: action.deployment }, applyPatch);
        return {};
      }
      case 'scale-workers':
        await this.apps.patchNamespacedDeployment(
          { namespace, name, body: { spec: { replicas: action.replicas } }, fieldManager: FIELD_MANAGER },
          mergePatch,
        );
        return {};
      case 'destroy-data':
        return { record: await this.destroyData(mc, action.trigger, status) };
      case 'event':
        await this.d.events.emit(mc, action.type, action.reason, action.message);
        return {};
      case 'audit-transition':
        await this.d.audit
          ?.append({
            actor: 'system:anshim-operator',
            action: 'campaign-transition',
            subject: campaignIdOf(mc),
            details: { from: action.from, to: action.to },
          })
          .catch(async (err: Error) => {
            this.d.log.error({ campaign: campaignIdOf(mc), err: err.message }, 'audit append failed');
            await this.d.events.emit(mc, 'Warning', 'AuditUnavailable', `phase change not yet audited: ${err.message}`);
          });
        return {};
    }
  }

  /**
   * The namespace's KEK Secret its workers mount: only that namespace's access (a KMS token for
   * its campaign keys, or its derived KEK), never the platform's, so a tenant reading its Secrets
   * opens its own campaigns' keys and no one else's. Checked with every worker apply (restored
   * if deleted or edited; a KMS token renewed, or replaced when revoked).
   */
  private async applyNamespaceKek(namespace: string): Promise<void> {
    if (!this.d.namespaceKeys) return;
    const existing = await this.core
      .readNamespacedSecret({ namespace, name: NAMESPACE_KEK_SECRET })
      .catch(unlessNotFound);
    const current = existing?.data
      ? Object.fromEntries(
          Object.entries(existing.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
        )
      : undefined;
    const data = await this.d.namespaceKeys.secretData(namespace, current);
    if (!data) return;
    await this.core.patchNamespacedSecret(
      {
        namespace,
        name: NAMESPACE_KEK_SECRET,
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: NAMESPACE_KEK_SECRET,
            namespace,
            labels: { 'app.kubernetes.io/managed-by': 'anshim-operator' },
          },
          type: 'Opaque',
          data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        },
      },
      applyPatch,
    );
  }

  /** Crypto-shredding: workers go, the topics go, the key is destroyed, and the record is written. */
  private async destroyData(
    mc: MessagingCampaign,
    trigger: 'retention-ended' | 'deleted',
    status: CampaignStatus,
  ): Promise<string> {
    const { namespace } = mc.metadata;
    const campaignId = campaignIdOf(mc);
    await this.apps.deleteNamespacedDeployment({ namespace, name: workerName(mc) }).catch(unlessNotFound);
    await this.core.deleteNamespacedSecret({ namespace, name: workerName(mc) }).catch(unlessNotFound);
    // The key before the topics: a KMS that does not answer stops the shredding here, so a retry
    // still finds (and the certificate still lists) the topics it deletes.
    const { keyIds, kms } = await this.d.keys.destroy(campaignId);
    // The topics status recorded; computed only for a campaign provisioned before status.topics existed.
    const plan = planTopic(mc, { replicationFactor: 1 }, status.topics ?? mc.status?.topics);
    const existing = new Set(await this.d.admin.listTopics());
    const topicsDeleted = [plan.topic, plan.holdTopic].filter((t): t is string => Boolean(t && existing.has(t)));
    if (topicsDeleted.length > 0) await this.d.admin.deleteTopics({ topics: topicsDeleted, timeout: 10_000 });
    const destroyedAt = new Date(this.d.now());
    const completedAt = status.completionTime;
    const record = await this.d.destruction.record(mc, {
      campaign: campaignId,
      campaignUid: mc.metadata.uid ?? '',
      keyIds,
      kmsDestructions: kms,
      topicsDeleted,
      counts: status.counts,
      completedAt,
      destroyedAt: destroyedAt.toISOString(),
      completionToDestructionSeconds: completedAt
        ? Math.round((destroyedAt.getTime() - Date.parse(completedAt)) / 100) / 10
        : undefined,
      trigger,
    });
    this.d.progress.forget(campaignId);
    this.d.metrics?.forget(campaignId);
    await this.d.events.emit(
      mc,
      'Normal',
      'DataDestroyed',
      `key ${keyIds.join(',') || '(none)'} destroyed; record ${record}`,
    );
    return record;
  }
}
