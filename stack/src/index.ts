export { up, down, status, install, restartKafka, requireStack, kafkaAccess } from './stack.ts';
export { LocalCa, type IssuedCert, type CertRequest } from './certs.ts';
export { startKms, stopKms, kmsRunning, kmsHealthy, kmsRootToken, ensureOpenBao, type StartKmsOptions } from './kms.ts';
export {
  readState,
  type StackState,
  type KmsState,
  type KafkaState,
  type KafkaPrincipal,
  type KafkaUsers,
} from './state.ts';
export { freePort, isAlive, stopPid, startDaemon } from './processes.ts';
export { VERSIONS } from './versions.ts';
export { cacheDir, stateDir, repoRoot, binaries } from './paths.ts';
export { MissingToolError, StackError } from './errors.ts';
export { printEndpoints } from './endpoints.ts';
export {
  ensurePrometheus,
  startPrometheus,
  type PrometheusServer,
  type PrometheusSample,
  type PrometheusTarget,
  type StartPrometheusOptions,
} from './prometheus.ts';
