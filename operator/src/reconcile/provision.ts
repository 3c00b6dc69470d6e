import type { CampaignStatus, MessagingCampaign, MessagingFleet } from '@anshim/api';
import { planTopic, type TopicPlan } from '../topics.ts';
import { failed, type Action, type StepResult } from './step.ts';

/** The fleet a campaign names must exist: its Kafka, carriers and scaling policy are the campaign's. */
export function requireFleet(mc: MessagingCampaign, fleet: MessagingFleet | undefined): StepResult {
  if (fleet) return {};
  return failed(
    'WorkersReady',
    'FleetNotFound',
    `no MessagingFleet "${mc.spec.fleet ?? 'default'}" in namespace ${mc.metadata.namespace}`,
  );
}

/** The topics this campaign uses: those status recorded, else today's naming rule. */
export const topicPlanFor = (mc: MessagingCampaign, fleet: MessagingFleet, status: CampaignStatus): TopicPlan =>
  planTopic(mc, { replicationFactor: fleet.spec.kafka.replicationFactor ?? 1 }, status.topics);

/**
 * Topics in place: create what is missing, grow partitions that the rate outgrew (Kafka never
 * shrinks them), and record the names in status once, so the gateway produces to and
 * destruction deletes exactly these. `existing` is partitions by topic name, for the plan's topics.
 */
export function provisionTopics(plan: TopicPlan, existing: ReadonlyMap<string, number>): StepResult {
  const actions: Action[] = [];
  const have = existing.get(plan.topic);
  const missing = [
    ...(have === undefined ? [{ topic: plan.topic, numPartitions: plan.partitions }] : []),
    // The hold topic only orders the night's backlog: a few partitions suffice.
    ...(plan.holdTopic && !existing.has(plan.holdTopic)
      ? [{ topic: plan.holdTopic, numPartitions: Math.min(plan.partitions, 3) }]
      : []),
  ];
  if (missing.length > 0)
    actions.push({
      kind: 'create-topics',
      topics: missing.map((t) => ({ ...t, replicationFactor: plan.replicationFactor, configs: plan.configs })),
    });
  if (have !== undefined && have < plan.partitions)
    actions.push({ kind: 'add-partitions', topic: plan.topic, count: plan.partitions });
  const partitions = Math.max(plan.partitions, have ?? 0);
  const hold = plan.holdTopic ? ` (+ ${plan.holdTopic} for the night window)` : '';
  return {
    actions,
    status: { topics: { campaign: plan.topic, ...(plan.holdTopic ? { hold: plan.holdTopic } : {}) } },
    conditions: [
      {
        type: 'TopicsReady',
        ok: true,
        reason: have === undefined ? 'TopicCreated' : 'TopicAdopted',
        message: `${plan.topic} with ${partitions} partitions${hold}`,
      },
    ],
  };
}

/** What the key store answered when asked for the campaign's data key (creating it if absent). */
export type KeyState =
  | { kind: 'ready'; keyId: string }
  | { kind: 'destroyed' }
  /** The KMS holding the campaign's wrapping key did not answer. */
  | { kind: 'kms-unavailable'; message: string };

/**
 * A shredded key is final: a campaign whose key is gone can never send again. A KMS that does
 * not answer holds the campaign: it cannot start, and a running one pauses (its workers scaled
 * to zero, nothing consumed, nothing lost) until the KMS answers again, since the KMS is the
 * authority on whether the campaign's key may be used at all.
 */
export function provisionKey(key: KeyState): StepResult {
  if (key.kind === 'destroyed')
    return failed('Ready', 'DataKeyDestroyed', 'the campaign data key was destroyed; nothing can be sent', true);
  if (key.kind === 'kms-unavailable')
    return {
      failure: {
        condition: 'WorkersReady',
        reason: 'KmsUnavailable',
        message: `held (not started, or paused) until the key-management service answers: ${key.message}`,
        fatal: false,
        pauseWorkers: true,
      },
    };
  return { status: { keyId: key.keyId } };
}
