import type { MessagingFleet, PriorityClass } from '@anshim/api';
import type { ScalingPolicy } from './scaling.ts';

/** Bounds when the fleet does not set them: OTPs and alerts keep a warm replica, bulk scales to zero. */
const CLASS_DEFAULTS: Record<PriorityClass, { minReplicas: number; maxReplicas: number }> = {
  bulk: { minReplicas: 0, maxReplicas: 8 },
  normal: { minReplicas: 0, maxReplicas: 8 },
  transactional: { minReplicas: 1, maxReplicas: 4 },
  alert: { minReplicas: 1, maxReplicas: 8 },
};

export function scalingPolicyOf(fleet: MessagingFleet, priority: PriorityClass): ScalingPolicy & { pollMs: number } {
  const s = fleet.spec.scaling ?? {};
  const cls = { ...CLASS_DEFAULTS[priority], ...s.classes?.[priority] };
  return {
    minReplicas: cls.minReplicas,
    maxReplicas: cls.maxReplicas,
    lagPerReplica: s.lagPerReplica ?? 5000,
    messagesPerReplica: s.messagesPerReplica ?? 500,
    cooldownMs: (s.cooldownSeconds ?? 300) * 1000,
    pollMs: (s.pollSeconds ?? 5) * 1000,
  };
}
