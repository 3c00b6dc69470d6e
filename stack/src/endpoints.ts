import { VERSIONS } from './versions.ts';
import type { StackState } from './state.ts';

export function printEndpoints(s: StackState): void {
  console.log(`
Anshim local stack is up (Kafka ${VERSIONS.kafka}, Kubernetes ${VERSIONS.kubernetes}, etcd ${VERSIONS.etcd})
  kafka brokers   ${s.kafka?.brokers.join(',')}
  kube-apiserver  ${s.apiserver?.url}
  etcd            ${s.etcd?.endpoint}
  kubeconfig      ${s.kubeconfig}
  kubectl         KUBECONFIG=${s.kubeconfig} ${s.tools?.kubectl} get ns
  k6              ${s.tools?.k6}
  helm            ${s.tools?.helm}
Stop it with: npm run stack -- down`);
}
