import { KeyError, type Logger } from '@anshim/core';
import type { WorkerFile } from '@anshim/api';
import { campaignIdOf, type CampaignCounts, type CampaignStatus, type MessagingCampaign } from '@anshim/api';
import { scalingPolicyOf } from './fleet.ts';
import type { TopicLag } from './lag.ts';
import { ClusterWorld, type ClusterWorldDeps } from './reconcile/cluster-world.ts';
import { finalize } from './reconcile/finalize.ts';
import { advancePhase } from './reconcile/progress.ts';
import { provisionKey, provisionTopics, requireFleet, topicPlanFor } from './reconcile/provision.ts';
import { bindPurpose } from './reconcile/purpose.ts';
import { retention } from './reconcile/retention.ts';
import { scaleWorkers, settleWorkers } from './reconcile/scale.ts';
import { withCondition, type Action, type StepFailure, type StepResult } from './reconcile/step.ts';
import type { CampaignWorld, DatasetRecord } from './reconcile/world.ts';
import type { OperatorMetrics } from './telemetry.ts';
import { workerFileFor } from './workers.ts';
import { workerGroupId } from '@anshim/api';

export { withCondition } from './reconcile/step.ts';
export type { CampaignWorld } from './reconcile/world.ts';

export interface ReconcileResult {
  /** Reconcile again after this long (lag polling, retention timers, error back-off). */
  requeueAfterMs?: number;
}

/** What the reconciler itself needs; the world it reads and changes comes separately. */
export interface ReconcilerOptions {
  /** What the workers unwrap with (a KMS token, or a namespace KEK), as their file names it. */
  workerKek: WorkerFile['kek'];
  /** Per-campaign lag and replica gauges. */
  metrics?: Pick<OperatorMetrics, 'observe' | 'forget'>;
  log: Logger;
  now?: () => number;
}

/** Everything a reconciler against the real API server and Kafka needs. */
export type ReconcilerDeps = ReconcilerOptions & Omit<ClusterWorldDeps, 'now' | 'metrics'>;

function clusterDeps(d: ReconcilerOptions & Partial<ReconcilerDeps>, now: () => number): ClusterWorldDeps {
  const { kc, admin, keys, progress, events, destruction } = d;
  if (!kc || !admin || !keys || !progress || !events || !destruction)
    throw new TypeError('CampaignReconciler: give it a world, or kc, admin, keys, progress, events and destruction');
  return { ...d, kc, admin, keys, progress, events, destruction, now };
}

/** A step could not go on; thrown inside one reconcile and turned into a condition and an event. */
class StepHalted extends Error {
  constructor(readonly failure: StepFailure) {
    super(failure.message);
  }
}

/** Runs `io` and turns anything it throws into the given condition's failure (retried, not fatal). */
async function observing<T>(condition: string, reason: string, io: () => Promise<T>): Promise<T> {
  try {
    return await io();
  } catch (err) {
    if (err instanceof StepHalted) throw err;
    throw new StepHalted({ condition, reason, message: (err as Error).message ?? String(err), fatal: false });
  }
}

/**
 * One MessagingCampaign at a time, in steps (reconcile/): finalize, bind purpose, provision
 * topics and key, scale the workers, count progress and move the phase, and shred at the end
 * of retention. Each step is a pure function of the campaign and what was observed; this
 * class only reads the world, runs the steps in order, and carries out what they ask.
 * Level-triggered: running it twice, or after a restart, changes nothing more; everything it
 * remembers lives in the object's status.
 */
export class CampaignReconciler {
  private readonly world: CampaignWorld;
  private readonly now: () => number;

  /** Against the real cluster when no world is given (unit tests give one of their own). */
  constructor(
    private readonly d: ReconcilerOptions & Partial<ReconcilerDeps>,
    world?: CampaignWorld,
  ) {
    this.now = d.now ?? Date.now;
    this.world = world ?? new ClusterWorld(clusterDeps(d, this.now));
  }

  async reconcile(mc: MessagingCampaign): Promise<ReconcileResult> {
    const finalizing = finalize(mc);
    if (finalizing) {
      await this.act(mc, finalizing.actions ?? [], mc.status ?? {});
      if (mc.metadata.deletionTimestamp && finalizing.actions?.length)
        this.d.log.info({ campaign: campaignIdOf(mc) }, 'campaign data destroyed, finalizer released');
      return {};
    }

    const status: CampaignStatus = structuredClone(mc.status ?? {});
    const id = campaignIdOf(mc);
    let requeueAfterMs = 5_000;
    /** Merges a step's status and conditions; answers its actions. */
    const take = (step: StepResult): Action[] => {
      if (step.failure) throw new StepHalted(step.failure);
      Object.assign(status, step.status);
      for (const c of step.conditions ?? []) this.condition(mc, status, c.type, c.ok, c.reason, c.message);
      if (step.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs, step.requeueAfterMs);
      return step.actions ?? [];
    };

    let lag: TopicLag | undefined;
    let provisioned = false;
    let dataset: DatasetRecord | undefined;
    const settled = mc.status?.phase === 'Completed' || mc.status?.phase === 'Failed';
    if (settled) {
      // A settled campaign is not provisioned again: its key may already be shredded.
      await this.world
        .deployment(mc)
        .then((deployment) => this.act(mc, take(settleWorkers(mc, deployment)), status))
        .catch((err: Error) => this.d.log.warn({ err: err.message }, 'scale to zero'));
      this.d.metrics?.observe(id, { replicas: 0 });
    } else
      try {
        dataset = await observing('Ready', 'ReconcileError', () => this.world.dataset(mc));
        take(bindPurpose(mc, dataset?.purpose));

        const fleet = await observing('Ready', 'ReconcileError', () => this.world.fleet(mc));
        take(requireFleet(mc, fleet));
        if (!fleet) return {};
        const policy = scalingPolicyOf(fleet, mc.spec.priorityClass ?? 'bulk');
        requeueAfterMs = policy.pollMs;

        const plan = topicPlanFor(mc, fleet, status);
        await observing('TopicsReady', 'KafkaUnavailable', async () => {
          const existing = await this.world.topicPartitions([plan.topic, ...(plan.holdTopic ? [plan.holdTopic] : [])]);
          await this.act(mc, take(provisionTopics(plan, existing)), status);
        });

        take(provisionKey(await observing('WorkersReady', 'KeyUnavailable', () => this.world.ensureKey(mc))));

        const group = workerGroupId(id);
        const [topicLag, held] = await observing(
          'WorkersReady',
          'LagUnavailable',
          async () =>
            [
              await this.world.lag(group, plan.topic),
              plan.holdTopic ? (await this.world.lag(`${group}.hold`, plan.holdTopic)).lag : 0,
            ] as const,
        );
        lag = topicLag;
        const [deployment, wrapped] = await observing('Ready', 'ReconcileError', () =>
          Promise.all([this.world.deployment(mc), this.world.wrappedKeys(mc)]),
        );
        const file = workerFileFor(mc, fleet, status.topics ?? { campaign: plan.topic }, wrapped, this.d.workerKek);
        const scaling = take(
          scaleWorkers(mc, { fleet, policy, lag: topicLag, held, deployment, file, now: this.now() }),
        );
        await observing('WorkersReady', 'DeploymentFailed', () => this.act(mc, scaling, status));
        this.d.metrics?.observe(id, { lag: topicLag.lag, replicas: status.workers?.replicas ?? 0 });
        provisioned = true;
      } catch (err) {
        const failure =
          err instanceof StepHalted
            ? err.failure
            : {
                condition: 'Ready',
                reason: 'ReconcileError',
                message: (err as Error).message ?? String(err),
                fatal: false,
              };
        if (failure.fatal) status.phase = 'Failed';
        this.condition(mc, status, failure.condition, false, failure.reason, failure.message.slice(0, 1000));
        if (failure.pauseWorkers) await this.pause(mc, status, failure.reason);
        await this.act(
          mc,
          [{ kind: 'event', type: 'Warning', reason: failure.reason, message: failure.message }],
          status,
        );
        requeueAfterMs = Math.max(requeueAfterMs, 5_000);
      }

    const queued = lag?.produced ?? mc.status?.counts?.queued ?? 0;
    const observed = this.world.progress(mc, queued);
    // Progress not read yet: judged as if Kafka had not answered (no counts written, nothing completes).
    const counts = observed ?? { ...zeroCounts(queued), final: 0 };
    take(
      advancePhase(mc, {
        provisioned,
        lag: observed ? lag : undefined,
        counts,
        status,
        ingestComplete: dataset?.complete === true,
        now: this.now(),
      }),
    );

    const before = mc.status?.phase;
    const live = structuredClone(status);
    const ending = take(retention(mc, status, this.now()));
    try {
      for (const action of ending) {
        const { record } = await this.world.execute(mc, action, status);
        if (record) status.destructionCertificateRef = { name: record };
      }
    } catch (err) {
      if (!(err instanceof KeyError && err.reason === 'kms-unavailable')) throw err;
      // Not destroyed until the KMS confirms it: no phase change, no certificate; retried.
      for (const key of Object.keys(status)) delete status[key as keyof CampaignStatus];
      Object.assign(status, live);
      const message = `waiting for the key-management service to destroy the campaign key: ${err.message}`;
      this.condition(mc, status, 'DataDestroyed', false, 'KmsUnavailable', message.slice(0, 1000));
      await this.act(mc, [{ kind: 'event', type: 'Warning', reason: 'KmsUnavailable', message }], status);
      requeueAfterMs = 5_000;
    }

    let resourceVersion = mc.metadata.resourceVersion;
    if (JSON.stringify(status) !== JSON.stringify(mc.status ?? {}))
      resourceVersion = (await this.world.patchStatus(mc, status)) ?? resourceVersion;
    const phase = status.phase ?? 'Pending';
    if (phase !== before) {
      this.d.log.info({ campaign: id, from: before, phase }, 'campaign phase changed');
      await this.act(
        mc,
        [
          {
            kind: 'event',
            type: phase === 'Failed' ? 'Warning' : 'Normal',
            reason: phase,
            message: `phase ${before ?? 'none'} → ${phase} (${counts.final} of ${counts.queued} messages final)`,
          },
          { kind: 'audit-transition', from: before ?? 'none', to: phase },
        ],
        status,
      );
    }
    if (phase === 'Destroyed') {
      // The finalizer step releases the object now that its data is gone.
      const destroyed = { ...mc, metadata: { ...mc.metadata, resourceVersion }, status };
      await this.act(destroyed, finalize(destroyed)?.actions ?? [], status);
      return {};
    }
    return { requeueAfterMs };
  }

  /** Workers scaled to zero while a step holds the campaign; scaling resumes once it passes. */
  private async pause(mc: MessagingCampaign, status: CampaignStatus, reason: string): Promise<void> {
    const deployment = await this.world.deployment(mc).catch(() => undefined);
    if (!deployment) return;
    if (deployment.replicas > 0) await this.act(mc, [{ kind: 'scale-workers', replicas: 0 }], status);
    // Also when already at zero (the lag had scaled it there): the status says why it stays there.
    status.workers = { ...status.workers, replicas: 0, reason: `paused: ${reason}` };
  }

  private async act(mc: MessagingCampaign, actions: Action[], status: CampaignStatus): Promise<void> {
    for (const action of actions) await this.world.execute(mc, action, status);
  }

  private condition(
    mc: MessagingCampaign,
    status: CampaignStatus,
    type: string,
    ok: boolean,
    reason: string,
    message: string,
  ): void {
    status.conditions = withCondition(
      status.conditions,
      { type, status: ok ? 'True' : 'False', observedGeneration: mc.metadata.generation, reason, message },
      new Date(this.now()),
    );
  }
}

function zeroCounts(queued: number): CampaignCounts {
  return { queued, sent: 0, delivered: 0, failed: 0, fellBack: 0, failedByResult: {} };
}
