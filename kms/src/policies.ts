// What each component may do in the KMS: one table, written as OpenBao/Vault ACL policies by
// whoever administers the KMS (the local stack at `stack up`; a production KMS's team applies
// the same policies, printed in the chart README). Nothing holds a root token at run time.
//
// A tenant namespace's workers get a token of their own, minted by the operator through a token
// role that may issue only `anshim-ns-*` policies, each allowing decrypt on that namespace's
// campaign keys and nothing else: a tenant reading its Secrets opens no other tenant's keys.
import type { TransitClient } from './transit-client.ts';
import { namespaceKeyPrefix } from './transit-kek.ts';

export type KmsComponent = 'operator' | 'gateway' | 'auditor';
export const KMS_COMPONENTS: readonly KmsComponent[] = ['operator', 'gateway', 'auditor'];

export type Capability = 'create' | 'read' | 'update' | 'delete' | 'list';
export interface PolicyRule {
  path: string;
  capabilities: Capability[];
}

/** The token role the operator mints namespace tokens through. */
export const NAMESPACE_TOKEN_ROLE = 'anshim-namespace';
/** A namespace token lives this long unless renewed (the operator renews it at every worker apply). */
export const NAMESPACE_TOKEN_PERIOD = '768h';

export const policyName = (component: KmsComponent): string => `anshim-${component}`;
export const namespacePolicyName = (namespace: string): string => `anshim-ns-${namespace}`;

export function componentPolicies(mount = 'transit'): Record<KmsComponent, PolicyRule[]> {
  return {
    // Creates each campaign's key, wraps its data key, deletes the key at shredding; writes the
    // namespace policies and mints namespace tokens. It never decrypts: it never needs a data key.
    operator: [
      { path: `${mount}/keys/campaign.*`, capabilities: ['create', 'read', 'update', 'delete'] },
      { path: `${mount}/encrypt/campaign.*`, capabilities: ['update'] },
      { path: 'sys/policies/acl/anshim-ns-*', capabilities: ['create', 'read', 'update'] },
      { path: `auth/token/create/${NAMESPACE_TOKEN_ROLE}`, capabilities: ['update'] },
    ],
    // Seals recipients at upload: opens every campaign's data key.
    gateway: [{ path: `${mount}/decrypt/campaign.*`, capabilities: ['update'] }],
    // Checks that a certified key is gone: reads key metadata (never material: transit keys are not exportable).
    auditor: [{ path: `${mount}/keys/campaign.*`, capabilities: ['read'] }],
  };
}

export function namespacePolicy(namespace: string, mount = 'transit'): PolicyRule[] {
  return [{ path: `${mount}/decrypt/${namespaceKeyPrefix(namespace)}*`, capabilities: ['update'] }];
}

/** HCL, as `sys/policies/acl` takes it. */
export function policyHcl(rules: PolicyRule[]): string {
  return rules
    .map((r) => `path "${r.path}" {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}]\n}\n`)
    .join('\n');
}

/** Writes the component policies and the namespace token role (idempotent; run with an admin token). */
export async function applyPolicies(admin: TransitClient, mount = 'transit'): Promise<void> {
  for (const [component, rules] of Object.entries(componentPolicies(mount)) as [KmsComponent, PolicyRule[]][]) {
    await admin.call('PUT', `sys/policies/acl/${policyName(component)}`, { policy: policyHcl(rules) });
  }
  await admin.call('POST', `auth/token/roles/${NAMESPACE_TOKEN_ROLE}`, {
    allowed_policies_glob: ['anshim-ns-*'],
    orphan: true,
    renewable: true,
    token_period: NAMESPACE_TOKEN_PERIOD,
  });
}

/** A periodic token holding one component's policy (the stack writes these for its processes). */
export async function createComponentToken(admin: TransitClient, component: KmsComponent): Promise<string> {
  const res = await admin.call('POST', 'auth/token/create-orphan', {
    policies: [policyName(component)],
    no_default_policy: false,
    period: NAMESPACE_TOKEN_PERIOD,
    display_name: `anshim-${component}`,
  });
  const token = res.auth?.client_token;
  if (!token) throw new Error(`the KMS minted no token for ${component}`);
  return token;
}
