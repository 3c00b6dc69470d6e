import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stateFile } from './paths.ts';

export interface ServiceState {
  pid: number;
  logFile: string;
}

/** The stack's Kafka users: `admin` is a super user (tests, tools); the others hold their component's grants. */
export type KafkaPrincipal = 'admin' | 'operator' | 'gateway' | 'worker';
export type KafkaUsers = Record<KafkaPrincipal, { username: string; passwordFile: string }>;

export interface KafkaState extends ServiceState {
  brokers: string[];
  /** SCRAM-SHA-512 users; absent in a state written before the stack authenticated. */
  users?: KafkaUsers;
  port: number;
  controllerPort: number;
  dataDir: string;
  configFile: string;
}

export interface EtcdState extends ServiceState {
  endpoint: string;
  dataDir: string;
}

export interface ApiServerState extends ServiceState {
  url: string;
  port: number;
}

/** The key-management service (OpenBao, transit engine): one token file per component. */
export interface KmsState extends ServiceState {
  address: string;
  port: number;
  clusterPort: number;
  dataDir: string;
  configFile: string;
  /** 0600: the unseal key and the root token, for the stack's own bootstrap and for tests. */
  initFile: string;
  mount: string;
  tokens: Record<'operator' | 'gateway' | 'auditor', string>;
}

/** What `stack up` started; tests and tools find the stack through this file. */
export interface StackState {
  version: 1;
  startedAt: string;
  kafka?: KafkaState;
  etcd?: EtcdState;
  apiserver?: ApiServerState;
  kms?: KmsState;
  kubeconfig?: string;
  pki?: string;
  tools?: { kubectl: string; k6: string; helm: string };
}

export function readState(): StackState | undefined {
  const file = stateFile();
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

export function writeState(state: StackState): void {
  const file = stateFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
}
