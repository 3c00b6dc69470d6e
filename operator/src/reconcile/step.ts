// The shape every reconcile step shares. A step is a pure function of the campaign and what was
// observed of the world; it answers with the actions to take and the status it wants, and the
// reconciler alone does I/O (through the seam in world.ts). So each step is a table of cases in
// a unit test, and the order of the steps reads in one place (reconciler.ts), as cert-manager's
// certificate controllers read their policy chains.
import type * as k8s from '@kubernetes/client-node';
import type { CampaignStatus, Condition } from '@anshim/api';
import type { EventType } from '../events.ts';

/** What a step asks the world to do; world.ts carries each out. */
export type Action =
  | { kind: 'set-finalizers'; finalizers: string[] }
  | {
      kind: 'create-topics';
      topics: { topic: string; numPartitions: number; replicationFactor: number; configs: Record<string, string> }[];
    }
  | { kind: 'add-partitions'; topic: string; count: number }
  /** Server-side applied: the worker config Secret first, then the Deployment that mounts it. */
  | { kind: 'apply-workers'; replicas: number; secret: k8s.V1Secret; deployment: k8s.V1Deployment }
  | { kind: 'scale-workers'; replicas: number }
  | { kind: 'destroy-data'; trigger: 'retention-ended' | 'deleted' }
  | { kind: 'event'; type: EventType; reason: string; message: string }
  /** The tamper-evident audit chain: every phase change, by the operator. */
  | { kind: 'audit-transition'; from: string; to: string };

/** A condition as a step states it; the reconciler stamps generation and transition time. */
export interface ConditionUpdate {
  type: string;
  ok: boolean;
  reason: string;
  message: string;
}

/** A step that cannot go on: the condition it sets, and whether the campaign can never send. */
export interface StepFailure {
  condition: string;
  reason: string;
  message: string;
  /** The campaign can never send (its phase becomes Failed); otherwise the next reconcile retries. */
  fatal: boolean;
  /** Scale the campaign's workers to zero until the step passes again (they resume from Kafka's offsets). */
  pauseWorkers?: boolean;
}

export interface StepResult {
  actions?: Action[];
  /** Merged into status (top-level fields replace). */
  status?: Partial<CampaignStatus>;
  conditions?: ConditionUpdate[];
  failure?: StepFailure;
  /** Reconcile again no later than this. */
  requeueAfterMs?: number;
}

export const failed = (condition: string, reason: string, message: string, fatal = false): StepResult => ({
  failure: { condition, reason, message, fatal },
});

/** Sets a condition, keeping lastTransitionTime when the status does not change (API conventions). */
export function withCondition(
  conditions: Condition[] = [],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date = new Date(),
): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : now.toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}
