import * as k8s from '@kubernetes/client-node';
import type { Admin } from 'kafkajs';
import type { Logger } from '@anshim/core';
import { FINALIZER, GROUP, PLURAL, VERSION, type Condition, type MessagingCampaign, type Phase } from './campaign.ts';
import { planTopic } from './topics.ts';

export interface ReconcileResult {
  /** Reconcile again after this long (errors back off; success needs no requeue). */
  requeueAfterMs?: number;
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** Sets a condition, keeping lastTransitionTime when the status does not change (API conventions). */
export function withCondition(conditions: Condition[] = [], next: Omit<Condition, 'lastTransitionTime'>): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : new Date().toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

/**
 * One MessagingCampaign at a time: read the world (topic), make it match the spec, report
 * status. Level-triggered: running it twice, or after a restart, changes nothing more.
 */
export class CampaignReconciler {
  private readonly api: k8s.CustomObjectsApi;

  constructor(
    kc: k8s.KubeConfig,
    private readonly admin: Admin,
    private readonly log: Logger,
    private readonly opts: { replicationFactor: number } = { replicationFactor: 1 },
  ) {
    this.api = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  async reconcile(mc: MessagingCampaign): Promise<ReconcileResult> {
    const { namespace, name } = mc.metadata;
    const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace, name };
    const finalizers = mc.metadata.finalizers ?? [];
    const plan = planTopic(mc, this.opts);

    if (mc.metadata.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return {};
      if ((await this.admin.listTopics()).includes(plan.topic)) {
        await this.admin.deleteTopics({ topics: [plan.topic], timeout: 10_000 });
      }
      await this.api.patchNamespacedCustomObject(
        {
          ...ref,
          body: {
            metadata: {
              finalizers: finalizers.filter((f) => f !== FINALIZER),
              resourceVersion: mc.metadata.resourceVersion,
            },
          },
        },
        mergePatch,
      );
      this.log.info(
        { campaign: `${namespace}/${name}`, topic: plan.topic },
        'campaign data removed, finalizer released',
      );
      return {};
    }

    if (!finalizers.includes(FINALIZER)) {
      // The finalizer goes on before anything is created, so nothing can outlive the object.
      await this.api.patchNamespacedCustomObject(
        {
          ...ref,
          body: { metadata: { finalizers: [...finalizers, FINALIZER], resourceVersion: mc.metadata.resourceVersion } },
        },
        mergePatch,
      );
      return {};
    }

    let conditions = mc.status?.conditions ?? [];
    let requeueAfterMs: number | undefined;
    try {
      const existing = (await this.admin.fetchTopicMetadata({ topics: [] })).topics.find((t) => t.name === plan.topic);
      if (!existing) {
        await this.admin.createTopics({
          topics: [
            {
              topic: plan.topic,
              numPartitions: plan.partitions,
              replicationFactor: this.opts.replicationFactor,
              configEntries: Object.entries(plan.configs).map(([n, value]) => ({ name: n, value })),
            },
          ],
          waitForLeaders: true,
        });
      } else if (existing.partitions.length < plan.partitions) {
        await this.admin.createPartitions({ topicPartitions: [{ topic: plan.topic, count: plan.partitions }] });
      }
      conditions = withCondition(conditions, {
        type: 'TopicsReady',
        status: 'True',
        observedGeneration: mc.metadata.generation,
        reason: existing ? 'TopicAdopted' : 'TopicCreated',
        message: `${plan.topic} with ${Math.max(plan.partitions, existing?.partitions.length ?? 0)} partitions`,
      });
    } catch (err) {
      conditions = withCondition(conditions, {
        type: 'TopicsReady',
        status: 'False',
        observedGeneration: mc.metadata.generation,
        reason: 'KafkaUnavailable',
        message: (err as Error).message.slice(0, 1000),
      });
      requeueAfterMs = 5_000;
    }
    const ready = conditions.some((c) => c.type === 'TopicsReady' && c.status === 'True');
    const current = mc.status?.phase;
    const phase: Phase = current && current !== 'Pending' ? current : ready ? 'Provisioning' : 'Pending';
    const status = { ...mc.status, phase, observedGeneration: mc.metadata.generation, conditions };
    if (JSON.stringify(status) !== JSON.stringify(mc.status)) {
      await this.api.patchNamespacedCustomObjectStatus({ ...ref, body: { status } }, mergePatch);
    }
    return { requeueAfterMs };
  }
}
