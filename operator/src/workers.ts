import { createHash } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { isCarrierId, type CarrierId } from '@anshim/core';
import { advertisingBody } from './ad-law.ts';
import {
  CAMPAIGN_LABEL,
  CONFIG_HASH,
  GROUP,
  VERSION,
  WORKER_APP,
  WORKER_COMMAND,
  campaignIdOf,
  NAMESPACE_KEK_SECRET,
  workerGroupId,
  fleetMetricsPort,
  fleetSecrets,
  type CampaignTopics,
  type CampaignSpec,
  type MessagingCampaign,
  type MessagingFleet,
  type PriorityClass,
  type WorkerFile,
} from '@anshim/api';

/** The container port Prometheus scrapes (PodMonitor `port: metrics`); the local runner remaps it per pod. */
export const METRICS_PORT_NAME = 'metrics';
export const METRICS_PATH = '/metrics';

/** The annotations Prometheus' annotation-based pod discovery reads (`prometheus.io/scrape|port|path`). */
export const scrapeAnnotations = (port: number): Record<string, string> => ({
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': String(port),
  'prometheus.io/path': METRICS_PATH,
});
export const workerName = (mc: MessagingCampaign): string => `anshim-worker-${mc.metadata.name}`;

/** Where the pod sees its mounts; the local runner materialises the same paths under a directory. */
export const MOUNTS = {
  config: '/etc/anshim/worker',
  kek: '/etc/anshim/kek',
  carrierKeys: '/etc/anshim/carrier-keys',
  tls: '/etc/anshim/tls',
  optOutKey: '/etc/anshim/opt-out-key',
  kafka: '/etc/anshim/kafka',
} as const;

/** The worker's view of a campaign: everything but its recipients (and with the ad-law body). */
export function campaignSpecOf(mc: MessagingCampaign): CampaignSpec {
  const processors = mc.spec.processors.filter(isCarrierId) as CarrierId[];
  const notAfter = mc.spec.schedule?.notAfter ? Date.parse(mc.spec.schedule.notAfter) : 0;
  return {
    id: campaignIdOf(mc),
    channel: mc.spec.channel,
    fallback: mc.spec.fallback ?? [],
    template: advertisingBody(mc),
    templateCode: mc.spec.template.alimtalkTemplateCode,
    senderNumber: mc.spec.sender.callbackNumber,
    processors,
    // Absolute: a time relative to now would change the worker file (and roll the workers) at every reconcile.
    ttlMs: 0,
    ...(notAfter > 0 ? { notAfterMs: notAfter } : {}),
    purpose: mc.spec.purpose,
    optOutNumber: mc.spec.sender.optOutNumber,
    messagesPerSecond: mc.spec.rateLimit.messagesPerSecond,
  };
}

/** worker.json for one campaign's workers: carriers limited to its processors, its key wrapped. */
export function workerFileFor(
  mc: MessagingCampaign,
  fleet: MessagingFleet,
  /** The topics status recorded: the workers consume exactly what the gateway produces to. */
  topics: CampaignTopics,
  wrappedKeys: Buffer[],
  /** What the namespace's workers unwrap with (NamespaceKeyAccess.workerKek). */
  kek: WorkerFile['kek'],
): WorkerFile {
  const spec = campaignSpecOf(mc);
  const carriers = Object.fromEntries(
    fleet.spec.carriers
      .filter((c) => spec.processors.includes(c.id as CarrierId))
      .map((c) => [c.id, { address: c.address }]),
  );
  return {
    brokers: fleet.spec.kafka.brokers,
    ...(fleet.spec.kafka.sasl
      ? {
          kafkaSasl: {
            mechanism: fleet.spec.kafka.sasl.mechanism ?? 'scram-sha-512',
            usernameFile: `${MOUNTS.kafka}/username`,
            passwordFile: `${MOUNTS.kafka}/password`,
          },
        }
      : {}),
    groupId: workerGroupId(spec.id),
    topics: [topics.campaign],
    holdTopics: topics.hold ? [topics.hold] : [],
    optOutKeyFile: `${MOUNTS.optOutKey}/key`,
    carriers,
    carrierKeysFile: `${MOUNTS.carrierKeys}/keys.json`,
    tls: {
      caFile: `${MOUNTS.tls}/ca.crt`,
      certFile: `${MOUNTS.tls}/tls.crt`,
      keyFile: `${MOUNTS.tls}/tls.key`,
      serverName: fleet.spec.worker.carrierServerName,
    },
    kek,
    campaigns: [{ spec, wrappedKeys: wrappedKeys.map((w) => w.toString('base64')) }],
    poolThreads: fleet.spec.worker.poolThreads,
    followReports: true,
    auditDecrypts: true,
  };
}

export function ownerOf(mc: MessagingCampaign): k8s.V1OwnerReference {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'MessagingCampaign',
    name: mc.metadata.name,
    uid: mc.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

const labelsOf = (mc: MessagingCampaign, priority: PriorityClass): Record<string, string> => ({
  'app.kubernetes.io/name': WORKER_APP,
  'app.kubernetes.io/instance': mc.metadata.name,
  'app.kubernetes.io/managed-by': 'anshim-operator',
  [CAMPAIGN_LABEL]: mc.metadata.name,
  'messaging.anshim.io/priority-class': priority,
});

export function workerSecretFor(mc: MessagingCampaign, file: WorkerFile): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: workerName(mc),
      namespace: mc.metadata.namespace,
      labels: labelsOf(mc, mc.spec.priorityClass ?? 'bulk'),
      ownerReferences: [ownerOf(mc)],
    },
    type: 'Opaque',
    data: { 'worker.json': Buffer.from(JSON.stringify(file, null, 2)).toString('base64') },
  };
}

/** A hash of the configuration, on the pod template, so a change rolls the workers. */
export const configHash = (file: WorkerFile): string =>
  createHash('sha256').update(JSON.stringify(file)).digest('hex').slice(0, 16);

/** The campaign's worker Deployment: restricted pod security, drained on SIGTERM, scaled by the operator. */
export function workerDeploymentFor(
  mc: MessagingCampaign,
  fleet: MessagingFleet,
  replicas: number,
  hash: string,
): k8s.V1Deployment {
  const priority = mc.spec.priorityClass ?? 'bulk';
  const labels = labelsOf(mc, priority);
  const secrets = fleetSecrets(fleet);
  const w = fleet.spec.worker;
  const metricsPort = fleetMetricsPort(fleet);
  const otlpEndpoint = fleet.spec.tracing?.otlpEndpoint;
  const kafkaSecret = fleet.spec.kafka.sasl?.secretName;
  const secretVolume = (name: string, secretName: string): k8s.V1Volume => ({
    name,
    secret: { secretName, defaultMode: 0o440 },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: workerName(mc), namespace: mc.metadata.namespace, labels, ownerReferences: [ownerOf(mc)] },
    spec: {
      replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': WORKER_APP, [CAMPAIGN_LABEL]: mc.metadata.name } },
      // Never more than the planned replicas at once: each one holds partitions.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: {
        metadata: {
          labels,
          annotations: { [CONFIG_HASH]: hash, ...(metricsPort ? scrapeAnnotations(metricsPort) : {}) },
        },
        spec: {
          serviceAccountName: w.serviceAccountName,
          automountServiceAccountToken: false,
          imagePullSecrets: w.imagePullSecrets?.length ? w.imagePullSecrets : undefined,
          priorityClassName: fleet.spec.scaling?.classes?.[priority]?.priorityClassName,
          terminationGracePeriodSeconds: 60,
          // fsGroup makes the 0400 Secret files readable by the non-root user.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'worker',
              image: w.image,
              imagePullPolicy: w.imagePullPolicy ?? 'IfNotPresent',
              command: [...WORKER_COMMAND],
              env: [
                { name: 'ANSHIM_WORKER_CONFIG', value: `${MOUNTS.config}/worker.json` },
                { name: 'ANSHIM_WORKER_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ...(metricsPort ? [{ name: 'ANSHIM_METRICS_PORT', value: String(metricsPort) }] : []),
                ...(otlpEndpoint ? [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: otlpEndpoint }] : []),
              ],
              ports: metricsPort
                ? [{ name: METRICS_PORT_NAME, containerPort: metricsPort, protocol: 'TCP' }]
                : undefined,
              resources: w.resources as k8s.V1ResourceRequirements | undefined,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: MOUNTS.config, readOnly: true },
                { name: 'kek', mountPath: MOUNTS.kek, readOnly: true },
                { name: 'carrier-keys', mountPath: MOUNTS.carrierKeys, readOnly: true },
                { name: 'carrier-tls', mountPath: MOUNTS.tls, readOnly: true },
                { name: 'opt-out-key', mountPath: MOUNTS.optOutKey, readOnly: true },
                ...(kafkaSecret ? [{ name: 'kafka-user', mountPath: MOUNTS.kafka, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            secretVolume('config', workerName(mc)),
            secretVolume('kek', NAMESPACE_KEK_SECRET),
            secretVolume('carrier-keys', secrets.carrierKeys),
            secretVolume('carrier-tls', secrets.carrierTls),
            secretVolume('opt-out-key', secrets.optOutKey),
            ...(kafkaSecret ? [secretVolume('kafka-user', kafkaSecret)] : []),
          ],
        },
      },
    },
  };
}
