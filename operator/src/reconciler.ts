import * as k8s from '@kubernetes/client-node';
import type { Admin } from 'kafkajs';
import type { AuditEvent } from '@anshim/compliance';
import { KeyError, type Logger } from '@anshim/core';
import {
  FINALIZER,
  FLEET_PLURAL,
  GROUP,
  PLURAL,
  VERSION,
  campaignIdOf,
  parseDuration,
  type CampaignStatus,
  type Condition,
  type MessagingCampaign,
  type Phase,
  type MessagingFleet,
} from '@anshim/api';
import type { DestructionRecorder } from './destruction.ts';
import type { EventRecorder } from './events.ts';
import { scalingPolicyOf } from './fleet.ts';
import { type KubernetesKeyStore } from '@anshim/keystore';
import { readLag, type TopicLag } from './lag.ts';
import { nextPhase } from './phase.ts';
import type { ProgressFeed } from './progress-feed.ts';
import { decideReplicas } from './scaling.ts';
import type { OperatorMetrics } from './telemetry.ts';
import { planTopic } from './topics.ts';
import {
  configHash,
  workerDeploymentFor,
  workerFileFor,
  workerGroupId,
  workerName,
  workerSecretFor,
  ownerOf,
} from './workers.ts';

export interface ReconcileResult {
  /** Reconcile again after this long (lag polling, retention timers, error back-off). */
  requeueAfterMs?: number;
}

export interface ReconcilerDeps {
  kc: k8s.KubeConfig;
  admin: Admin;
  keys: KubernetesKeyStore;
  /** Id of the KEK the workers unwrap with (its material is in the fleet's Secret). */
  kekId: string;
  progress: Pick<ProgressFeed, 'counts' | 'forget'>;
  events: Pick<EventRecorder, 'emit'>;
  destruction: DestructionRecorder;
  /** The tamper-evident audit chain every phase change is appended to. */
  audit?: { append(event: AuditEvent): Promise<void> };
  /** Per-campaign lag and replica gauges. */
  metrics?: Pick<OperatorMetrics, 'observe' | 'forget'>;
  log: Logger;
  now?: () => number;
}

export const INGEST_COMPLETE = 'messaging.anshim.io/ingest-complete';
const FIELD_MANAGER = 'anshim-operator';
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
const isNotFound = (err: unknown): boolean => (err as { code?: number }).code === 404;

/** Sets a condition, keeping lastTransitionTime when the status does not change (API conventions). */
export function withCondition(conditions: Condition[] = [], next: Omit<Condition, 'lastTransitionTime'>): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : new Date().toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

class StepError extends Error {
  constructor(
    readonly condition: string,
    readonly reason: string,
    message: string,
    /** The campaign can never send (the phase becomes Failed); otherwise it is retried. */
    readonly fatal = false,
  ) {
    super(message);
  }
}

/** The ConfigMap the gateway writes per ingested dataset: its purpose and counts, no personal data. */
export const datasetConfigMapName = (dataset: string): string => `anshim-dataset-${dataset}`;
export const PURPOSE_LABEL = 'messaging.anshim.io/purpose';

/**
 * One MessagingCampaign at a time: read the world (fleet, topic, key, lag, workers,
 * progress), make it match the spec, report status. Level-triggered: running it twice, or
 * after a restart, changes nothing more; everything it remembers lives in the object's status.
 */
export class CampaignReconciler {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly now: () => number;

  constructor(private readonly d: ReconcilerDeps) {
    this.custom = d.kc.makeApiClient(k8s.CustomObjectsApi);
    this.apps = d.kc.makeApiClient(k8s.AppsV1Api);
    this.core = d.kc.makeApiClient(k8s.CoreV1Api);
    this.now = d.now ?? Date.now;
  }

  private ref(mc: MessagingCampaign) {
    return { group: GROUP, version: VERSION, plural: PLURAL, namespace: mc.metadata.namespace, name: mc.metadata.name };
  }

  async reconcile(mc: MessagingCampaign): Promise<ReconcileResult> {
    const finalizers = mc.metadata.finalizers ?? [];
    if (mc.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return {};
      await this.destroyData(mc, 'deleted');
      await this.setFinalizers(
        mc,
        finalizers.filter((f) => f !== FINALIZER),
      );
      this.d.log.info({ campaign: campaignIdOf(mc) }, 'campaign data destroyed, finalizer released');
      return {};
    }
    if (mc.status?.phase === 'Destroyed') {
      if (finalizers.includes(FINALIZER))
        await this.setFinalizers(
          mc,
          finalizers.filter((f) => f !== FINALIZER),
        );
      return {};
    }
    if (!finalizers.includes(FINALIZER)) {
      // The finalizer goes on before anything is created, so nothing can outlive the object.
      await this.setFinalizers(mc, [...finalizers, FINALIZER]);
      return {};
    }

    const status: CampaignStatus = structuredClone(mc.status ?? {});
    const gen = mc.metadata.generation;
    const condition = (type: string, ok: boolean, reason: string, message: string) => {
      status.conditions = withCondition(status.conditions, {
        type,
        status: ok ? 'True' : 'False',
        observedGeneration: gen,
        reason,
        message,
      });
    };
    let requeueAfterMs = 5_000;
    let lag: TopicLag | undefined;
    let provisioned = false;
    const settled = mc.status?.phase === 'Completed' || mc.status?.phase === 'Failed';
    if (settled) {
      await this.scaleToZero(mc).catch((err: Error) => this.d.log.warn({ err: err.message }, 'scale to zero'));
      this.d.metrics?.observe(campaignIdOf(mc), { replicas: 0 });
    }
    // A settled campaign is not provisioned again: its key may already be shredded.
    else
      try {
        await this.checkPurpose(mc, condition);
        const fleet = await this.fleetOf(mc);
        const policy = scalingPolicyOf(fleet, mc.spec.priorityClass ?? 'bulk');
        requeueAfterMs = policy.pollMs;
        const plan = planTopic(mc, { replicationFactor: fleet.spec.kafka.replicationFactor ?? 1 }, status.topics);
        const topicMessage = await this.ensureTopic(plan).catch((err: Error) => {
          throw new StepError('TopicsReady', 'KafkaUnavailable', err.message);
        });
        // Written once: the gateway produces to, and destruction deletes, exactly these topics.
        status.topics = { campaign: plan.topic, ...(plan.holdTopic ? { hold: plan.holdTopic } : {}) };
        condition('TopicsReady', true, topicMessage.adopted ? 'TopicAdopted' : 'TopicCreated', topicMessage.text);

        status.keyId = await this.d.keys.ensure(campaignIdOf(mc), ownerOf(mc)).catch((err: Error) => {
          if (err instanceof KeyError && err.reason === 'campaign-key-destroyed')
            throw new StepError(
              'Ready',
              'DataKeyDestroyed',
              'the campaign data key was destroyed; nothing can be sent',
              true,
            );
          throw new StepError('WorkersReady', 'KeyUnavailable', err.message);
        });

        lag = await readLag(this.d.admin, workerGroupId(campaignIdOf(mc)), plan.topic).catch((err: Error) => {
          throw new StepError('WorkersReady', 'LagUnavailable', err.message);
        });
        // Held advertisements need one replica awake to release them at 08:00, not one per backlog slice.
        const held = plan.holdTopic
          ? (await readLag(this.d.admin, `${workerGroupId(campaignIdOf(mc))}.hold`, plan.holdTopic)).lag
          : 0;
        const current = await this.readDeployment(mc);
        const workers = status.workers ?? {};
        const now = this.now();
        const decision = decideReplicas(
          held > 0 ? { ...policy, minReplicas: Math.max(1, policy.minReplicas) } : policy,
          {
            lag: lag.lag,
            partitions: lag.partitions,
            rateLimit: mc.spec.rateLimit.messagesPerSecond,
            currentReplicas: current?.spec?.replicas ?? 0,
            now,
            lastActiveAt: workers.lastActiveTime ? Date.parse(workers.lastActiveTime) : undefined,
            lastScaleAt: workers.lastScaleTime ? Date.parse(workers.lastScaleTime) : undefined,
          },
        );
        const file = workerFileFor(mc, fleet, plan.topic, await this.d.keys.wrapped(campaignIdOf(mc)), this.d.kekId);
        await this.apply(mc, fleet, decision.replicas, file).catch((err: Error) => {
          throw new StepError('WorkersReady', 'DeploymentFailed', err.message);
        });
        const changed = (current?.spec?.replicas ?? -1) !== decision.replicas;
        if (changed && current) {
          await this.d.events.emit(
            mc,
            'Normal',
            'ScaledWorkers',
            `${workerName(mc)}: ${current.spec?.replicas ?? 0} → ${decision.replicas} (${decision.reason})`,
          );
        }
        status.workers = {
          deployment: workerName(mc),
          replicas: decision.replicas,
          lag: lag.lag,
          reason: decision.reason,
          lastActiveTime: decision.active ? new Date(now).toISOString() : workers.lastActiveTime,
          lastScaleTime: changed ? new Date(now).toISOString() : workers.lastScaleTime,
        };
        this.d.metrics?.observe(campaignIdOf(mc), { lag: lag.lag, replicas: decision.replicas });
        const ready = current?.status?.readyReplicas ?? 0;
        condition(
          'WorkersReady',
          decision.replicas === 0 || ready > 0,
          decision.replicas === 0 ? 'ScaledToZero' : ready > 0 ? 'WorkersRunning' : 'WorkersStarting',
          `${ready}/${decision.replicas} ready; ${decision.reason}`,
        );
        provisioned = true;
      } catch (err) {
        const step =
          err instanceof StepError
            ? err
            : new StepError('Ready', 'ReconcileError', (err as Error).message ?? String(err));
        if (step.fatal) status.phase = 'Failed';
        condition(step.condition, false, step.reason, step.message.slice(0, 1000));
        await this.d.events.emit(mc, 'Warning', step.reason, step.message);
        requeueAfterMs = Math.max(requeueAfterMs, 5_000);
      }

    const counts = this.d.progress.counts(campaignIdOf(mc), lag?.produced ?? mc.status?.counts?.queued ?? 0);
    if (lag) {
      const { final: _final, duplicates: _duplicates, ...shown } = counts;
      status.counts = shown;
    }
    const before = mc.status?.phase;
    const size = mc.spec.audience.size;
    const phase = nextPhase(before, {
      provisioned,
      queued: counts.queued,
      lag: lag?.lag ?? 1,
      final: counts.final,
      ingestComplete:
        size === undefined || counts.queued >= size || mc.metadata.annotations?.[INGEST_COMPLETE] === 'true',
      openEnded: mc.spec.priorityClass === 'transactional' || mc.spec.priorityClass === 'alert',
    });
    status.phase = status.phase === 'Failed' ? 'Failed' : phase;
    status.observedGeneration = gen;
    const nowIso = new Date(this.now()).toISOString();
    if (status.phase === 'Sending' && !status.startTime) status.startTime = nowIso;
    if (status.phase === 'Completed' && !status.completionTime) {
      status.completionTime = nowIso;
      condition('Completed', true, 'AllMessagesFinal', `${counts.final} of ${counts.queued} messages final`);
    }

    // Retention: once it ends, the campaign's data is shredded and the object kept as the record.
    if (status.phase === 'Completed' && status.completionTime) {
      const due = Date.parse(status.completionTime) + parseDuration(mc.spec.retentionAfterCompletion ?? '24h');
      const wait = due - this.now();
      if (wait <= 0) {
        const { name } = await this.destroyData(mc, 'retention-ended', status);
        status.phase = 'Destroyed';
        status.destructionCertificateRef = { name };
        condition('DataDestroyed', true, 'RetentionEnded', 'data key destroyed, topics and workers deleted');
        status.workers = { ...status.workers, replicas: 0, reason: 'campaign destroyed' };
      } else requeueAfterMs = Math.min(requeueAfterMs, wait);
    }

    let resourceVersion = mc.metadata.resourceVersion;
    if (JSON.stringify(status) !== JSON.stringify(mc.status ?? {})) {
      const patched = (await this.custom.patchNamespacedCustomObjectStatus(
        { ...this.ref(mc), body: { status } },
        mergePatch,
      )) as MessagingCampaign;
      resourceVersion = patched.metadata.resourceVersion;
    }
    if (status.phase !== before) await this.announce(mc, before, status.phase ?? 'Pending', counts);
    if (status.phase === 'Destroyed') {
      await this.setFinalizers(
        { ...mc, metadata: { ...mc.metadata, resourceVersion } },
        (mc.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      );
      return {};
    }
    return { requeueAfterMs };
  }

  private async announce(
    mc: MessagingCampaign,
    from: Phase | undefined,
    to: Phase,
    counts: { queued: number; final: number },
  ): Promise<void> {
    const type = to === 'Failed' ? 'Warning' : 'Normal';
    const message = `phase ${from ?? 'none'} → ${to} (${counts.final} of ${counts.queued} messages final)`;
    this.d.log.info({ campaign: campaignIdOf(mc), from, phase: to }, 'campaign phase changed');
    await this.d.events.emit(mc, type, to, message);
    await this.d.audit
      ?.append({
        actor: 'system:anshim-operator',
        action: 'campaign-transition',
        subject: campaignIdOf(mc),
        details: { from: from ?? 'none', to },
      })
      .catch(async (err: Error) => {
        this.d.log.error({ campaign: campaignIdOf(mc), err: err.message }, 'audit append failed');
        await this.d.events.emit(mc, 'Warning', 'AuditUnavailable', `phase change not yet audited: ${err.message}`);
      });
  }

  /**
   * Purpose binding (개인정보 보호법 제18조): data collected for one purpose is not used for another.
   * The dataset's purpose is what the gateway recorded at ingest.
   */
  private async checkPurpose(
    mc: MessagingCampaign,
    condition: (type: string, ok: boolean, reason: string, message: string) => void,
  ): Promise<void> {
    const dataset = mc.spec.audience.datasetRef.name;
    const cm = await this.core
      .readNamespacedConfigMap({ namespace: mc.metadata.namespace, name: datasetConfigMapName(dataset) })
      .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    const collectedFor = cm?.metadata?.labels?.[PURPOSE_LABEL];
    if (!collectedFor) {
      condition(
        'PurposeBound',
        true,
        'AwaitingDataset',
        `dataset ${dataset} not ingested yet; uploads must declare ${mc.spec.purpose}`,
      );
      return;
    }
    if (collectedFor !== mc.spec.purpose)
      throw new StepError(
        'PurposeBound',
        'PurposeMismatch',
        `dataset ${dataset} was collected for ${collectedFor}; it cannot be used for ${mc.spec.purpose}`,
        true,
      );
    condition('PurposeBound', true, 'PurposeMatches', `dataset ${dataset} was collected for ${collectedFor}`);
  }

  /** A settled campaign keeps no workers while it waits for its retention to end. */
  private async scaleToZero(mc: MessagingCampaign): Promise<void> {
    const current = await this.readDeployment(mc);
    if (!current?.spec?.replicas) return;
    await this.apps.patchNamespacedDeployment(
      {
        namespace: mc.metadata.namespace,
        name: workerName(mc),
        body: { spec: { replicas: 0 } },
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    );
    await this.d.events.emit(
      mc,
      'Normal',
      'ScaledWorkers',
      `${workerName(mc)}: ${current.spec.replicas} → 0 (campaign settled)`,
    );
  }

  private async setFinalizers(mc: MessagingCampaign, finalizers: string[]): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { ...this.ref(mc), body: { metadata: { finalizers, resourceVersion: mc.metadata.resourceVersion } } },
      mergePatch,
    );
  }

  private async fleetOf(mc: MessagingCampaign): Promise<MessagingFleet> {
    const name = mc.spec.fleet ?? 'default';
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: FLEET_PLURAL,
        namespace: mc.metadata.namespace,
        name,
      })) as MessagingFleet;
    } catch (err) {
      if (isNotFound(err))
        throw new StepError(
          'WorkersReady',
          'FleetNotFound',
          `no MessagingFleet "${name}" in namespace ${mc.metadata.namespace}`,
        );
      throw err;
    }
  }

  private async ensureTopic(plan: ReturnType<typeof planTopic>): Promise<{ adopted: boolean; text: string }> {
    const { topics } = await this.d.admin.fetchTopicMetadata({ topics: [] });
    const existing = topics.find((t) => t.name === plan.topic);
    const configEntries = Object.entries(plan.configs).map(([n, value]) => ({ name: n, value }));
    const missing = [
      ...(existing ? [] : [{ topic: plan.topic, numPartitions: plan.partitions }]),
      // The hold topic only orders the night's backlog: a few partitions suffice.
      ...(plan.holdTopic && !topics.some((t) => t.name === plan.holdTopic)
        ? [{ topic: plan.holdTopic, numPartitions: Math.min(plan.partitions, 3) }]
        : []),
    ];
    if (missing.length > 0) {
      await this.d.admin.createTopics({
        topics: missing.map((t) => ({ ...t, replicationFactor: plan.replicationFactor, configEntries })),
        waitForLeaders: true,
      });
    }
    if (existing && existing.partitions.length < plan.partitions) {
      await this.d.admin.createPartitions({ topicPartitions: [{ topic: plan.topic, count: plan.partitions }] });
    }
    const partitions = Math.max(plan.partitions, existing?.partitions.length ?? 0);
    const hold = plan.holdTopic ? ` (+ ${plan.holdTopic} for the night window)` : '';
    return { adopted: Boolean(existing), text: `${plan.topic} with ${partitions} partitions${hold}` };
  }

  private async readDeployment(mc: MessagingCampaign): Promise<k8s.V1Deployment | undefined> {
    try {
      return await this.apps.readNamespacedDeployment({ namespace: mc.metadata.namespace, name: workerName(mc) });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Server-side apply: creates or updates, and owns only the fields it sets. */
  private async apply(
    mc: MessagingCampaign,
    fleet: MessagingFleet,
    replicas: number,
    file: ReturnType<typeof workerFileFor>,
  ): Promise<void> {
    const { namespace } = mc.metadata;
    const name = workerName(mc);
    const common = { namespace, name, fieldManager: FIELD_MANAGER, force: true };
    await this.core.patchNamespacedSecret({ ...common, body: workerSecretFor(mc, file) }, applyPatch);
    await this.apps.patchNamespacedDeployment(
      {
        ...common,
        body: workerDeploymentFor(mc, fleet, replicas, configHash(file)),
      },
      applyPatch,
    );
  }

  /** Crypto-shredding: workers go, the topic goes, the key is destroyed, and the record is written. */
  private async destroyData(
    mc: MessagingCampaign,
    trigger: 'retention-ended' | 'deleted',
    status: CampaignStatus = mc.status ?? {},
  ): Promise<{ name: string }> {
    const { namespace } = mc.metadata;
    const campaignId = campaignIdOf(mc);
    await this.apps
      .deleteNamespacedDeployment({ namespace, name: workerName(mc) })
      .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    await this.core
      .deleteNamespacedSecret({ namespace, name: workerName(mc) })
      .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    // The topics status recorded; computed only for a campaign provisioned before status.topics existed.
    const plan = planTopic(mc, { replicationFactor: 1 }, status.topics ?? mc.status?.topics);
    const existing = new Set(await this.d.admin.listTopics());
    const topicsDeleted = [plan.topic, plan.holdTopic].filter((t): t is string => Boolean(t && existing.has(t)));
    if (topicsDeleted.length > 0) await this.d.admin.deleteTopics({ topics: topicsDeleted, timeout: 10_000 });
    const keyIds = await this.d.keys.destroy(campaignId);
    const destroyedAt = new Date(this.now());
    const completedAt = status.completionTime;
    const name = await this.d.destruction.record(mc, {
      campaign: campaignId,
      campaignUid: mc.metadata.uid ?? '',
      keyIds,
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
      `key ${keyIds.join(',') || '(none)'} destroyed; record ${name}`,
    );
    return { name };
  }
}
