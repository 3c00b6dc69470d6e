import type { MessagingCampaign, MessagingFleet, WorkerFile, WorkersStatus } from '@anshim/api';
import type { TopicLag } from '../lag.ts';
import { decideReplicas, type ScalingPolicy } from '../scaling.ts';
import { configHash, workerDeploymentFor, workerName, workerSecretFor } from '../workers.ts';
import type { Action, StepResult } from './step.ts';

/** The worker Deployment as read: what it asks for and how many replicas are ready. */
export interface DeploymentState {
  replicas: number;
  readyReplicas: number;
}

export interface ScaleInput {
  fleet: MessagingFleet;
  policy: ScalingPolicy;
  lag: TopicLag;
  /** Records waiting on the hold topic (advertising held for the night window). */
  held: number;
  deployment: DeploymentState | undefined;
  file: WorkerFile;
  now: number;
}

/**
 * Workers to match the backlog: replicas from lag (KEDA's arithmetic, in scaling.ts), the
 * Deployment and its config Secret applied with that count, and status.workers remembering
 * when lag was last seen and when the count last changed, so a restarted operator keeps the cool-downs.
 */
export function scaleWorkers(mc: MessagingCampaign, input: ScaleInput): StepResult {
  const { lag, held, deployment, now } = input;
  const workers = mc.status?.workers ?? {};
  // schedule.startAt: the Deployment exists (uploads land in the topic), at zero until then.
  const startAt = mc.spec.schedule?.startAt ? Date.parse(mc.spec.schedule.startAt) : 0;
  if (startAt > now) return waitForStart(mc, input, startAt);
  // Held advertisements need one replica awake to release them at 08:00, not one per backlog
  // slice. A draining campaign needs one to take the carriers' outstanding reports: a carrier
  // holds a report until a subscriber for its campaign takes it, so with none the campaign
  // would wait in Draining for ever.
  const draining = mc.status?.phase === 'Draining';
  const policy =
    held > 0 || draining ? { ...input.policy, minReplicas: Math.max(1, input.policy.minReplicas) } : input.policy;
  const decision = decideReplicas(policy, {
    lag: lag.lag,
    partitions: lag.partitions,
    rateLimit: mc.spec.rateLimit.messagesPerSecond,
    currentReplicas: deployment?.replicas ?? 0,
    now,
    lastActiveAt: workers.lastActiveTime ? Date.parse(workers.lastActiveTime) : undefined,
    lastScaleAt: workers.lastScaleTime ? Date.parse(workers.lastScaleTime) : undefined,
  });
  const changed = (deployment?.replicas ?? -1) !== decision.replicas;
  const actions: Action[] = [
    {
      kind: 'apply-workers',
      replicas: decision.replicas,
      secret: workerSecretFor(mc, input.file),
      deployment: workerDeploymentFor(mc, input.fleet, decision.replicas, configHash(input.file)),
    },
  ];
  if (changed && deployment)
    actions.push({
      kind: 'event',
      type: 'Normal',
      reason: 'ScaledWorkers',
      message: `${workerName(mc)}: ${deployment.replicas} → ${decision.replicas} (${decision.reason})`,
    });
  const status: WorkersStatus = {
    deployment: workerName(mc),
    replicas: decision.replicas,
    lag: lag.lag,
    reason: decision.reason,
    lastActiveTime: decision.active ? new Date(now).toISOString() : workers.lastActiveTime,
    lastScaleTime: changed ? new Date(now).toISOString() : workers.lastScaleTime,
  };
  const ready = deployment?.readyReplicas ?? 0;
  return {
    actions,
    status: { workers: status },
    conditions: [
      {
        type: 'WorkersReady',
        ok: decision.replicas === 0 || ready > 0,
        reason: decision.replicas === 0 ? 'ScaledToZero' : ready > 0 ? 'WorkersRunning' : 'WorkersStarting',
        message: `${ready}/${decision.replicas} ready; ${decision.reason}`,
      },
    ],
  };
}

function waitForStart(mc: MessagingCampaign, input: ScaleInput, startAt: number): StepResult {
  const reason = `scheduled to start at ${new Date(startAt).toISOString()}`;
  const actions: Action[] = [
    {
      kind: 'apply-workers',
      replicas: 0,
      secret: workerSecretFor(mc, input.file),
      deployment: workerDeploymentFor(mc, input.fleet, 0, configHash(input.file)),
    },
  ];
  return {
    actions,
    status: {
      workers: {
        ...mc.status?.workers,
        deployment: workerName(mc),
        replicas: 0,
        lag: input.lag.lag,
        reason,
        ...(input.deployment?.replicas ? { lastScaleTime: new Date(input.now).toISOString() } : {}),
      },
    },
    conditions: [{ type: 'WorkersReady', ok: true, reason: 'WaitingForStartAt', message: reason }],
    // Woken at the start (or by the next poll, whichever is first).
    requeueAfterMs: startAt - input.now,
  };
}

/** A settled campaign (Completed or Failed) keeps no workers while it waits for its retention to end. */
export function settleWorkers(mc: MessagingCampaign, deployment: DeploymentState | undefined): StepResult {
  if (!deployment?.replicas) return {};
  return {
    actions: [
      { kind: 'scale-workers', replicas: 0 },
      {
        kind: 'event',
        type: 'Normal',
        reason: 'ScaledWorkers',
        message: `${workerName(mc)}: ${deployment.replicas} → 0 (campaign settled)`,
      },
    ],
  };
}
