/**
 * How many worker replicas a campaign wants, from its consumer-group lag: KEDA's Kafka
 * scaler arithmetic (desired = ⌈lag / lagPerReplica⌉, never more replicas than partitions,
 * activation at lag > 0, scale to zero only after a cool-down since the last lag) with an
 * HPA-style stabilisation window against flapping on the way down.
 */
export interface ScalingPolicy {
  minReplicas: number;
  maxReplicas: number;
  /** Lag one replica is expected to work off: the HPA's AverageValue target. */
  lagPerReplica: number;
  /** What one replica sends per second; bounds replicas by the campaign's rate limit. */
  messagesPerReplica: number;
  /** Idle time (no lag) before scaling to zero, and the minimum gap between scale-downs. */
  cooldownMs: number;
}

export interface ScalingObservation {
  /** Σ over partitions of (high watermark − committed offset, or − low watermark if nothing is committed). */
  lag: number;
  partitions: number;
  rateLimit: number;
  currentReplicas: number;
  now: number;
  /** When lag was last seen above zero (persisted in status, so a restarted operator remembers). */
  lastActiveAt?: number;
  /** When the replica count last changed. */
  lastScaleAt?: number;
}

export interface ScalingDecision {
  replicas: number;
  /** Why, in words a `kubectl describe` reader understands. */
  reason: string;
  active: boolean;
}

export function decideReplicas(policy: ScalingPolicy, o: ScalingObservation): ScalingDecision {
  const active = o.lag > 0;
  const ceiling = Math.max(
    0,
    Math.min(policy.maxReplicas, Math.max(1, o.partitions), Math.ceil(o.rateLimit / policy.messagesPerReplica)),
  );
  const floor = Math.min(policy.minReplicas, ceiling);
  const byLag = active ? Math.max(1, Math.ceil(o.lag / policy.lagPerReplica)) : 0;
  const wanted = Math.max(floor, Math.min(byLag, ceiling));
  const bounded = wanted === byLag ? 'lag' : wanted === ceiling ? 'ceiling' : 'minimum';
  const explain = `lag ${o.lag} / ${policy.lagPerReplica} per replica → ${byLag}, bounded to [${floor}, ${ceiling}] (${bounded})`;

  if (wanted >= o.currentReplicas) {
    return {
      replicas: wanted,
      active,
      reason: wanted > o.currentReplicas ? `scale up: ${explain}` : `steady: ${explain}`,
    };
  }
  // Down: to zero only after the cool-down since the last lag; otherwise one stabilisation window between steps.
  const sinceActive = o.lastActiveAt === undefined ? Infinity : o.now - o.lastActiveAt;
  const sinceScale = o.lastScaleAt === undefined ? Infinity : o.now - o.lastScaleAt;
  if (wanted === 0 && sinceActive < policy.cooldownMs) {
    const hold = Math.max(1, floor);
    return {
      replicas: Math.min(o.currentReplicas, Math.max(hold, wanted)),
      active,
      reason: `idle for ${Math.round(sinceActive / 1000)}s of a ${policy.cooldownMs / 1000}s cool-down before scaling to zero`,
    };
  }
  if (wanted > 0 && sinceScale < policy.cooldownMs) {
    return {
      replicas: o.currentReplicas,
      active,
      reason: `holding ${o.currentReplicas}: last scaled ${Math.round(sinceScale / 1000)}s ago, stabilisation window ${policy.cooldownMs / 1000}s (${explain})`,
    };
  }
  return { replicas: wanted, active, reason: wanted === 0 ? 'scale to zero: no lag' : `scale down: ${explain}` };
}
