// The operator process. Flags override the environment (ANSHIM_BROKERS, KUBECONFIG, ...).
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { loadOrCreateSigningKey } from '@anshim/compliance';
import { NamespaceKekProvider, createLogger, type KeyEncryptionKeyProvider } from '@anshim/core';
import { NamespaceTokens, TransitClient, TransitKekProvider } from '@anshim/kms';
import { credentialsFromEnv, type KafkaCredentials } from '@anshim/kafka';
import { startTelemetry, telemetryOptionsFromEnv } from '@anshim/telemetry';
import { assessHealth, startHealthServer } from './health.ts';
import { LocalNamespaceKeys, TransitNamespaceKeys, type NamespaceKeyAccess } from './namespace-keys.ts';
import { Operator } from './operator.ts';

const log = createLogger('operator');
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
    brokers: { type: 'string', default: process.env.ANSHIM_BROKERS },
    // The KMS: a key per campaign in OpenBao/Vault transit, deleted there at shredding (README: keys).
    'kms-address': { type: 'string', default: process.env.ANSHIM_KMS_ADDRESS },
    'kms-token-file': { type: 'string', default: process.env.ANSHIM_KMS_TOKEN_FILE ?? '/etc/anshim/kms/token' },
    'kms-mount': { type: 'string', default: process.env.ANSHIM_KMS_MOUNT ?? 'transit' },
    // Without a KMS (development): the platform KEK. With one: optional, the KEK that wrapped keys
    // before the move into the KMS (they are re-wrapped under their campaign's KMS key).
    'kek-file': { type: 'string', default: process.env.ANSHIM_KEK_FILE ?? '/etc/anshim/kek/kek' },
    'kek-id': { type: 'string', default: process.env.ANSHIM_KEK_ID },
    'watch-namespace': { type: 'string', default: process.env.ANSHIM_WATCH_NAMESPACE },
    // KEK rotation: the key being retired; data keys wrapped under it are re-wrapped under --kek-file.
    'previous-kek-file': { type: 'string', default: process.env.ANSHIM_PREVIOUS_KEK_FILE },
    'previous-kek-id': { type: 'string', default: process.env.ANSHIM_PREVIOUS_KEK_ID },
    'lease-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'default' },
    identity: { type: 'string', default: process.env.POD_NAME ?? `${hostname()}-${process.pid}` },
    'lease-duration-seconds': { type: 'string', default: '15' },
    'signing-key': { type: 'string', default: process.env.ANSHIM_SIGNING_KEY ?? '/var/run/anshim/signing/key.pem' },
    'certificate-dir': { type: 'string', default: process.env.ANSHIM_CERTIFICATE_DIR },
    issuer: { type: 'string', default: process.env.ANSHIM_ISSUER },
    // /healthz and /readyz for the kubelet; 0 picks a free port (printed in the ready line). The chart listens on 0.0.0.0.
    'health-port': { type: 'string', default: process.env.ANSHIM_HEALTH_PORT ?? '0' },
    'health-host': { type: 'string', default: process.env.ANSHIM_HEALTH_HOST ?? '127.0.0.1' },
  },
});

function fail(message: string): never {
  log.error(message);
  process.exit(2);
}

if (!values.brokers) fail('no Kafka brokers: pass --brokers host:port[,host:port] or set ANSHIM_BROKERS');
const kc = new k8s.KubeConfig();
if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
else kc.loadFromCluster();

// ANSHIM_KAFKA_USERNAME / ANSHIM_KAFKA_PASSWORD_FILE: the operator's Kafka user (README: Kafka grants).
let kafkaCredentials: KafkaCredentials | undefined;
try {
  kafkaCredentials = credentialsFromEnv();
} catch (err) {
  fail((err as Error).message);
}
function readKek(file: string, id: string | undefined): NamespaceKekProvider {
  let hex: string;
  try {
    hex = readFileSync(file, 'utf8').trim();
  } catch (err) {
    fail(`cannot read the key-encryption key ${file}: ${(err as Error).message}`);
  }
  const kekId =
    id ??
    (() => {
      try {
        return readFileSync(`${file.replace(/\/[^/]*$/, '')}/id`, 'utf8').trim();
      } catch {
        return fail('no key-encryption key id: pass --kek-id or mount it as "id" beside the key');
      }
    })();
  return new NamespaceKekProvider(kekId, Buffer.from(hex, 'hex'));
}

const previousKeks: KeyEncryptionKeyProvider[] =
  values['previous-kek-file'] && values['previous-kek-id']
    ? [readKek(values['previous-kek-file'], values['previous-kek-id'])]
    : [];
let kek: KeyEncryptionKeyProvider;
let namespaceKeys: NamespaceKeyAccess;
if (values['kms-address']) {
  const client = new TransitClient({ address: values['kms-address'], tokenFile: values['kms-token-file'] });
  const transit = new TransitKekProvider({ client, mount: values['kms-mount'] });
  kek = transit;
  namespaceKeys = new TransitNamespaceKeys(transit, new NamespaceTokens(client, values['kms-mount']));
  if (existsSync(values['kek-file']!)) previousKeks.push(readKek(values['kek-file']!, values['kek-id']));
} else {
  log.warn('no --kms-address: data keys are wrapped under a local KEK, whose copies shredding cannot make inert');
  const local = readKek(values['kek-file']!, values['kek-id']);
  kek = local;
  namespaceKeys = new LocalNamespaceKeys(local);
}
const leaseSeconds = Number(values['lease-duration-seconds']);
const healthPort = Number(values['health-port']);
if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535)
  fail(`--health-port must be a port number, not '${values['health-port']}'`);
const signingKey = await loadOrCreateSigningKey(values['signing-key']!).catch((err: Error) =>
  fail(`cannot load or create the signing key ${values['signing-key']}: ${err.message}`),
);
// ANSHIM_METRICS_PORT serves /metrics; ANSHIM_TRACE_FILE / OTEL_EXPORTER_OTLP_ENDPOINT export spans.
const telemetry = await startTelemetry(telemetryOptionsFromEnv('anshim-operator', process.env, values.identity)).catch(
  (err: Error) => fail(`cannot start telemetry: ${err.message}`),
);
const operator = new Operator({
  kc,
  brokers: values.brokers.split(','),
  kafkaCredentials,
  kek,
  previousKeks,
  namespaceKeys,
  identity: values.identity!,
  leaseNamespace: values['lease-namespace']!,
  watchNamespace: values['watch-namespace'],
  leaseDurationMs: leaseSeconds * 1000,
  renewDeadlineMs: Math.round(leaseSeconds * 666),
  retryPeriodMs: Math.max(500, Math.round(leaseSeconds * 133)),
  signingKey,
  certificateDir: values['certificate-dir'],
  issuer: values.issuer,
  log,
});

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  operator.stop().then(
    () => telemetry.shutdown().finally(() => process.exit(0)),
    (err: Error) => {
      log.error({ err: err.message }, 'unclean stop');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
const health = await startHealthServer({
  host: values['health-host']!,
  port: healthPort,
  report: () => assessHealth(operator.state, Date.now()),
}).catch((err: Error) => fail(`cannot serve the health endpoints: ${err.message}`));
operator.start();
console.log(
  JSON.stringify({ ready: true, identity: values.identity, metrics: telemetry.metricsUrl, health: health.url }),
);
