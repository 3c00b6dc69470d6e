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

/** What `stack up` started; tests and tools find the stack through this file. */
export interface StackState {
  version: 1;
  startedAt: string;
  kafka?: KafkaState;
  etcd?: EtcdState;
  apiserver?: ApiServerState;
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
