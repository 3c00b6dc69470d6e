import type { KubernetesObject } from '@kubernetes/client-node';
import type { PriorityClass } from './vocabulary.ts';

/** Per priority class: the replica bounds of a campaign's workers and their Kubernetes PriorityClass. */
export interface FleetClassScaling {
  minReplicas?: number;
  maxReplicas?: number;
  priorityClassName?: string;
}

/** A MessagingFleet: how a namespace's workers run (see charts/anshim/crds/messagingfleets…yaml). */
export interface MessagingFleet extends KubernetesObject {
  metadata: NonNullable<KubernetesObject['metadata']> & { name: string; namespace: string };
  spec: {
    kafka: {
      brokers: string[];
      replicationFactor?: number;
      /** The workers' Kafka user: a Secret of the namespace with `username` and `password` keys. */
      sasl?: { mechanism?: 'scram-sha-512' | 'scram-sha-256' | 'plain'; secretName: string };
    };
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
    secrets?: { carrierKeys?: string; carrierTls?: string; optOutKey?: string };
    scaling?: {
      lagPerReplica?: number;
      messagesPerReplica?: number;
      cooldownSeconds?: number;
      pollSeconds?: number;
      classes?: Partial<Record<PriorityClass, FleetClassScaling>>;
    };
  };
}

/** The API server defaults these (the CRD); objects built in code may leave them out. */
export const DEFAULT_METRICS_PORT = 9464;

/**
 * The namespace's own key-encryption key (`kek` hex, `id`), derived from the platform KEK and
 * written by the operator: the KEK a namespace's workers mount. The platform KEK stays with the
 * operator and the gateway.
 */
export const NAMESPACE_KEK_SECRET = 'anshim-namespace-kek';

/** The Secrets a fleet's workers mount, by the names the fleet gives them or the defaults. */
export const fleetSecrets = (fleet: MessagingFleet) => ({
  carrierKeys: fleet.spec.secrets?.carrierKeys ?? 'anshim-carrier-keys',
  carrierTls: fleet.spec.secrets?.carrierTls ?? 'anshim-carrier-tls',
  optOutKey: fleet.spec.secrets?.optOutKey ?? 'anshim-opt-out-key',
});

/** Where the fleet's worker pods serve /metrics, or undefined when the fleet turns metrics off. */
export const fleetMetricsPort = (fleet: MessagingFleet): number | undefined =>
  fleet.spec.metrics?.enabled === false ? undefined : (fleet.spec.metrics?.port ?? DEFAULT_METRICS_PORT);
