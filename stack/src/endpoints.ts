import { VERSIONS } from './versions.ts';
import type { StackState } from './state.ts';

export function printEndpoints(s: StackState): void {
  console.log(`
Anshim local stack is up (Kafka ${VERSIONS.kafka}, Kubernetes ${VERSIONS.kubernetes}, etcd ${VERSIONS.etcd}, OpenBao ${VERSIONS.openbao})
  kafka brokers   ${s.kafka?.brokers.join(',')}
  kube-apiserver  ${s.apiserver?.url}
  etcd            ${s.etcd?.endpoint}
  kms (openbao)   ${s.kms?.address} (transit at /${s.kms?.mount}; component tokens in ${s.kms ? s.kms.tokens.operator.replace(/\/operator$/, '') : '-'})
  kubeconfig      ${s.kubeconfig}
  kubectl         KUBECONFIG=${s.kubeconfig} ${s.tools?.kubectl} get ns
  k6              ${s.tools?.k6}
  helm            ${s.tools?.helm}
Stop it with: npm run stack -- down`);
}
