import type { KubernetesObject } from '@kubernetes/client-node';
import type { PriorityClass } from './campaign.ts';
import type { ScalingPolicy } from './scaling.ts';

/** A MessagingFleet: how a namespace's workers run (see charts/anshim/crds/messagingfleets…yaml). */
export interface MessagingFleet extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec: {
    kafka: { brokers: string[]; replicationFactor?: number };
    carriers: Array<{ id: string; address: string }>;
    worker: {
      image: string;
      imagePullPolicy?: string;
      poolThreads?: number;
      resources?: Record<string, unknown>;
      serviceAccountName?: string;
      carrierServerName?: string;
      imagePullSecrets?: Array<{ name: string }>;
    };
    metrics?: { enabled?: boolean; port?: number };
    /** OTLP/HTTP endpoint the worker pods export spans to (OTEL_EXPORTER_OTLP_ENDPOINT); none when absent. */
    tracing?: { otlpEndpoint?: string };
    secrets?: { keyEncryptionKey?: string; carrierKeys?: string; carrierTls?: string; optOutKey?: string };
    scaling?: {
      lagPerReplica?: number;
      messagesPerReplica?: number;
      cooldownSeconds?: number;
      pollSeconds?: number;
      classes?: Partial<
        Record<PriorityClass, { minReplicas?: number; maxReplicas?: number; priorityClassName?: string }>
      >;
    };
  };
}

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

export const fleetSecrets = (fleet: MessagingFleet) => ({
  keyEncryptionKey: fleet.spec.secrets?.keyEncryptionKey ?? 'anshim-kek',
  carrierKeys: fleet.spec.secrets?.carrierKeys ?? 'anshim-carrier-keys',
  carrierTls: fleet.spec.secrets?.carrierTls ?? 'anshim-carrier-tls',
  optOutKey: fleet.spec.secrets?.optOutKey ?? 'anshim-opt-out-key',
});

/** The API server defaults these (the CRD); objects built in code may leave them out. */
export const DEFAULT_METRICS_PORT = 9464;

/** Where the fleet's worker pods serve /metrics, or undefined when the fleet turns metrics off. */
export const fleetMetricsPort = (fleet: MessagingFleet): number | undefined =>
  fleet.spec.metrics?.enabled === false ? undefined : (fleet.spec.metrics?.port ?? DEFAULT_METRICS_PORT);
