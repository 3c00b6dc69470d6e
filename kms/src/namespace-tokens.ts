// The operator's side of per-namespace KMS access: a policy per namespace and a token holding
// only it, written into the namespace's KEK Secret for its workers. A token still valid is kept
// and renewed (minting one per worker apply would litter the KMS with tokens).
import { KmsError, TransitClient } from './transit-client.ts';
import { NAMESPACE_TOKEN_ROLE, namespacePolicy, namespacePolicyName, policyHcl } from './policies.ts';

export class NamespaceTokens {
  constructor(
    private readonly operator: TransitClient,
    private readonly mount = 'transit',
  ) {}

  /**
   * A token for `namespace`'s workers: `current` if it is still valid (renewed when past half
   * its period), else a new one. Returns undefined when `current` stays.
   */
  async ensure(namespace: string, current?: string): Promise<string | undefined> {
    if (current) {
      const own = new TransitClient({ address: this.operator.address, token: current });
      try {
        const self = await own.call('GET', 'auth/token/lookup-self');
        const ttl = Number(self.data?.ttl ?? 0);
        const period = Number(self.data?.period ?? 0);
        const policies = (self.data?.policies as string[] | undefined) ?? [];
        if (policies.includes(namespacePolicyName(namespace))) {
          if (period > 0 && ttl < period / 2) await own.call('POST', 'auth/token/renew-self', {});
          return undefined;
        }
      } catch (err) {
        // Revoked or expired: mint a new one. The KMS being down is the caller's to retry.
        if (!(err instanceof KmsError) || err.reason === 'unavailable') throw err;
      }
    }
    await this.operator.call('PUT', `sys/policies/acl/${namespacePolicyName(namespace)}`, {
      policy: policyHcl(namespacePolicy(namespace, this.mount)),
    });
    const res = await this.operator.call('POST', `auth/token/create/${NAMESPACE_TOKEN_ROLE}`, {
      policies: [namespacePolicyName(namespace)],
      display_name: `ns-${namespace}`,
      meta: { namespace },
    });
    const token = res.auth?.client_token;
    if (!token) throw new KmsError('rejected', `POST auth/token/create/${NAMESPACE_TOKEN_ROLE}`, undefined, 'no token');
    return token;
  }
}
