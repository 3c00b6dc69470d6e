import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { binaries } from './paths.ts';
import { LocalCa, ensureSigningKey } from './certs.ts';
import { freePort, isOurs, startDaemon, stopPid, waitUntil } from './processes.ts';
import type { ApiServerState, EtcdState } from './state.ts';

export function etcdHealthy(endpoint: string): Promise<boolean> {
  return new Promise((resolveHealth) => {
    const req = httpRequest(`${endpoint}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolveHealth(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolveHealth(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startEtcd(stateDir: string, previous?: EtcdState): Promise<EtcdState> {
  const dir = join(stateDir, 'etcd');
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'etcd.log');
  mkdirSync(dir, { recursive: true });
  const clientPort = previous ? Number(new URL(previous.endpoint).port) : await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const pid = startDaemon({
    name: 'etcd',
    command: binaries.etcd(),
    args: [
      '--name=anshim',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=anshim=http://127.0.0.1:${peerPort}`,
      // A throwaway single-member store for tests: fsync buys nothing here and costs seconds.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile,
  });
  await waitUntil('etcd', () => etcdHealthy(endpoint), { timeoutMs: 30_000, pid, logFile });
  return { pid, logFile, endpoint, dataDir };
}

interface KubeCerts {
  ca: string;
  serving: { cert: string; key: string };
  admin: { cert: string; key: string };
  serviceAccount: { key: string; pub: string };
}

function kubeCerts(pkiDir: string): KubeCerts {
  const ca = new LocalCa(pkiDir).ensure();
  return {
    ca: ca.cert,
    serving: ca.issue({
      name: 'kube-apiserver',
      commonName: 'kube-apiserver',
      usage: 'server',
      dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ips: ['127.0.0.1', '10.0.0.1'],
    }),
    // system:masters bypasses RBAC: this is the cluster admin identity of the kubeconfig.
    admin: ca.issue({ name: 'admin', commonName: 'anshim-admin', organization: 'system:masters', usage: 'client' }),
    serviceAccount: ensureSigningKey(pkiDir, 'service-account'),
  };
}

export function apiServerReady(url: string, pkiDir: string): Promise<boolean> {
  return new Promise((resolveReady) => {
    const req = request(
      `${url}/readyz`,
      {
        ca: readFileSync(join(pkiDir, 'ca.crt')),
        cert: readFileSync(join(pkiDir, 'admin.crt')),
        key: readFileSync(join(pkiDir, 'admin.key')),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolveReady(res.statusCode === 200));
      },
    );
    req.on('error', () => resolveReady(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** kube-apiserver the way envtest runs it: real etcd, TLS, client-cert auth, RBAC on, no controllers. */
export async function startApiServer(
  stateDir: string,
  etcd: EtcdState,
  pkiDir: string,
  previous?: ApiServerState,
): Promise<ApiServerState> {
  const dir = join(stateDir, 'apiserver');
  const logFile = join(dir, 'kube-apiserver.log');
  mkdirSync(dir, { recursive: true });
  const certs = kubeCerts(pkiDir);
  const port = previous?.port ?? (await freePort());
  const url = `https://127.0.0.1:${port}`;
  const pid = startDaemon({
    name: 'kube-apiserver',
    command: binaries.kubeApiserver(),
    args: [
      `--etcd-servers=${etcd.endpoint}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--advertise-address=127.0.0.1',
      `--tls-cert-file=${certs.serving.cert}`,
      `--tls-private-key-file=${certs.serving.key}`,
      `--client-ca-file=${certs.ca}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${certs.serviceAccount.pub}`,
      `--service-account-signing-key-file=${certs.serviceAccount.key}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller-manager runs, so nothing creates default ServiceAccounts for pods.
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      `--cert-dir=${dir}`,
    ],
    logFile,
  });
  await waitUntil('kube-apiserver', () => apiServerReady(url, pkiDir), { timeoutMs: 90_000, pid, logFile });
  return { pid, logFile, url, port };
}

export function writeKubeconfig(file: string, url: string, pkiDir: string): void {
  const yaml = `apiVersion: v1
kind: Config
clusters:
- name: anshim-local
  cluster:
    server: ${url}
    certificate-authority: ${join(pkiDir, 'ca.crt')}
users:
- name: anshim-admin
  user:
    client-certificate: ${join(pkiDir, 'admin.crt')}
    client-key: ${join(pkiDir, 'admin.key')}
contexts:
- name: anshim-local
  context:
    cluster: anshim-local
    user: anshim-admin
    namespace: default
current-context: anshim-local
`;
  writeFileSync(file, yaml, { mode: 0o600 });
}

export const stopEtcd = (s: EtcdState): Promise<void> => stopPid(s.pid, binaries.etcd());
export const stopApiServer = (s: ApiServerState): Promise<void> => stopPid(s.pid, binaries.kubeApiserver());
export const etcdRunning = (s: EtcdState): boolean => isOurs(s.pid, binaries.etcd());
export const apiServerRunning = (s: ApiServerState): boolean => isOurs(s.pid, binaries.kubeApiserver());
