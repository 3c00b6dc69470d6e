// The gateway process: the ingest HTTP service wired to the API server (campaigns, data keys),
// Kafka (sealed records, opt-outs, the audit chain) and the fleet's key files.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel } from 'kafkajs';
import { credentialsFromEnv, durableProducer, saslConfig, type KafkaCredentials } from '@anshim/kafka';
import { AuditChain, KafkaAuditStore } from '@anshim/compliance';
import { NamespaceKekProvider, createLogger, type KeyEncryptionKeyProvider } from '@anshim/core';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { KubernetesKeyStore } from '@anshim/keystore';
import { startTelemetry, telemetryOptionsFromEnv } from '@anshim/telemetry';
import { DatasetRecorder, KubernetesCampaignLookup } from './kubernetes.ts';
import { KubernetesAccessControl } from './kubernetes-access.ts';
import { createGatewayServer } from './server.ts';

const log = createLogger('gateway');
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
    brokers: { type: 'string', default: process.env.ANSHIM_BROKERS },
    // The KMS (README: keys): the gateway's token may decrypt campaign keys, nothing else.
    'kms-address': { type: 'string', default: process.env.ANSHIM_KMS_ADDRESS },
    'kms-token-file': { type: 'string', default: process.env.ANSHIM_KMS_TOKEN_FILE ?? '/etc/anshim/kms/token' },
    'kms-mount': { type: 'string', default: process.env.ANSHIM_KMS_MOUNT ?? 'transit' },
    // Without a KMS: the platform KEK (development). With one: optional, for keys wrapped before the move.
    'kek-file': { type: 'string', default: process.env.ANSHIM_KEK_FILE ?? '/etc/anshim/kek/kek' },
    'kek-id': { type: 'string', default: process.env.ANSHIM_KEK_ID },
    'opt-out-key-file': {
      type: 'string',
      default: process.env.ANSHIM_OPT_OUT_KEY_FILE ?? '/etc/anshim/opt-out-key/key',
    },
    host: { type: 'string', default: process.env.ANSHIM_GATEWAY_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.ANSHIM_GATEWAY_PORT ?? '8080' },
    identity: { type: 'string', default: process.env.POD_NAME ?? `${hostname()}-${process.pid}` },
  },
});

function fail(message: string): never {
  log.error(message);
  process.exit(2);
}
const readHex = (path: string, what: string): Buffer => {
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  } catch (err) {
    return fail(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
};

if (!values.brokers) fail('no Kafka brokers: pass --brokers host:port[,host:port] or set ANSHIM_BROKERS');
const kc = new k8s.KubeConfig();
if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
else kc.loadFromCluster();
const kekFile = values['kek-file']!;
const localKek = (): NamespaceKekProvider => {
  let kekId = values['kek-id'];
  try {
    kekId ??= readFileSync(`${kekFile.replace(/\/[^/]*$/, '')}/id`, 'utf8').trim();
  } catch {
    fail('no key-encryption key id: pass --kek-id or mount it as "id" beside the key');
  }
  // The platform KEK: each campaign's key is wrapped under its namespace's KEK, derived from it.
  return new NamespaceKekProvider(kekId, readHex(kekFile, 'the key-encryption key'));
};
const keks: KeyEncryptionKeyProvider[] = values['kms-address']
  ? [
      new TransitKekProvider({
        client: new TransitClient({ address: values['kms-address'], tokenFile: values['kms-token-file'] }),
        mount: values['kms-mount'],
      }),
      ...(existsSync(kekFile) ? [localKek()] : []),
    ]
  : [localKek()];
const optOutKey = readHex(values['opt-out-key-file']!, 'the opt-out list key');

// ANSHIM_METRICS_PORT serves /metrics; ANSHIM_TRACE_FILE / OTEL_EXPORTER_OTLP_ENDPOINT export spans:
// a server span per request and a send span per produce, whose traceparent every record carries.
const telemetry = await startTelemetry(telemetryOptionsFromEnv('anshim-gateway', process.env, values.identity));

// ANSHIM_KAFKA_USERNAME / ANSHIM_KAFKA_PASSWORD_FILE: the gateway's Kafka user, which may write
// campaign topics, opt-outs and its audit chain, and read none of the others (README: Kafka grants).
let kafkaCredentials: KafkaCredentials | undefined;
try {
  kafkaCredentials = credentialsFromEnv();
} catch (err) {
  fail((err as Error).message);
}
const kafka = new Kafka({
  clientId: `anshim-gateway-${values.identity}`,
  brokers: values.brokers.split(','),
  ...saslConfig(kafkaCredentials),
  logLevel: logLevel.WARN,
  logCreator: () => (entry) => log.warn({ kafka: entry.namespace }, entry.log.message),
});
// Durable: this producer writes to every campaign's topic, and outlives each of them (a campaign's
// topics are deleted when it is shredded); see @anshim/kafka for why kafkajs alone would not.
const producer = durableProducer(
  () => kafka.producer({ idempotent: true, allowAutoTopicCreation: false }),
  (_what, err) => log.warn({ err: err.name }, 'a topic this producer used was deleted; producing through a fresh one'),
);
await producer.connect();
const campaigns = new KubernetesCampaignLookup(kc);
const datasets = new DatasetRecorder(kc, campaigns);
// The audit topic is the operator's to create (only it may create topics); until it exists an
// audited action fails, and the next one tries to open the chain again.
let chain: Promise<AuditChain> | undefined;
const auditChain = async () =>
  (chain ??= (async () => AuditChain.open(await KafkaAuditStore.connect(kafka), `gateway-${values.identity}`))().catch(
    (err: unknown) => {
      chain = undefined;
      throw err;
    },
  ));

const app = createGatewayServer({
  // A key Secret read is reused for 5 s: a key shredded meanwhile only seals records nobody can open.
  keys: new KubernetesKeyStore(kc, keks, 5000),
  campaigns,
  producer,
  logger: log,
  // Every caller is a Kubernetes identity; its grants are the namespace's RBAC (README: access).
  access: new KubernetesAccessControl(kc, {
    ...(process.env.ANSHIM_GATEWAY_AUDIENCES ? { audiences: process.env.ANSHIM_GATEWAY_AUDIENCES.split(',') } : {}),
  }),
  optOutKey,
  // The audit chain answers "who uploaded this list, who sent this message, who opted this out":
  // the caller's Kubernetes username, counts and ids, never a number.
  audit: async (event) => {
    const chain = await auditChain();
    const common = {
      sender: event.campaignId.split('.')[0] ?? '',
      outcome: event.outcome,
      ...(event.errorCode ? { errorCode: event.errorCode } : {}),
      produced: event.produced,
    };
    if (event.type === 'message')
      await chain.append({ actor: event.actor, action: 'message', subject: event.campaignId, details: common });
    else {
      await chain.append({
        actor: event.actor,
        action: 'upload',
        subject: event.campaignId,
        details: {
          ...common,
          rows: event.counts?.rows ?? 0,
          bytes: event.bytes ?? 0,
          ...(event.uploadId ? { uploadId: event.uploadId } : {}),
        },
      });
      await datasets.uploaded(event);
    }
  },
  auditOptOut: async (event) => {
    await (
      await auditChain()
    ).append({
      actor: event.actor,
      action: event.optedOut ? 'opt-out' : 'opt-in',
      subject: event.optOutNumber,
      details: {
        outcome: event.outcome,
        ...(event.errorCode ? { errorCode: event.errorCode } : {}),
        ...(event.tag ? { tag: event.tag } : {}),
      },
    });
  },
});

const address = await app.listen({ host: values.host, port: Number(values.port) });
console.log(JSON.stringify({ ready: true, url: address }));
let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  void app
    .close()
    .then(() => producer.disconnect())
    .then(() => telemetry.shutdown())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
