import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSIONS } from './versions.ts';

/** The checkout this code runs from (stack/src/ → repo root). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Built binaries and downloaded jars live outside the checkout, so that a fresh
 * clone (as CI makes) reuses them; runtime state lives inside it, per checkout.
 */
export function cacheDir(): string {
  return process.env.ANSHIM_CACHE ?? join(homedir(), '.cache', 'anshim');
}

export function stateDir(): string {
  return process.env.ANSHIM_STACK_DIR ?? join(repoRoot, '.stack');
}

export const stateFile = (): string => join(stateDir(), 'stack.json');

export const binaries = {
  kubeApiserver: () => join(cacheDir(), `kubernetes-v${VERSIONS.kubernetes}`, 'kube-apiserver'),
  kubectl: () => join(cacheDir(), `kubernetes-v${VERSIONS.kubernetes}`, 'kubectl'),
  etcd: () => join(cacheDir(), `etcd-v${VERSIONS.etcd}`, 'etcd'),
  k6: () => join(cacheDir(), `k6-v${VERSIONS.k6}`, 'k6'),
  helm: () => join(cacheDir(), `helm-v${VERSIONS.helm}`, 'helm'),
  prometheus: () => join(cacheDir(), `prometheus-${VERSIONS.prometheus}`, 'prometheus'),
  openbao: () => join(cacheDir(), `openbao-${VERSIONS.openbao}`, 'bao'),
  kafkaLibs: () => join(cacheDir(), `kafka-${VERSIONS.kafka}`, 'libs'),
};
