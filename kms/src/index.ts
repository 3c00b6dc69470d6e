// @anshim/kms: campaign key-wrapping keys in OpenBao / Vault transit (a key per campaign,
// deleted there at shredding), the policies each component holds, and namespace tokens.
export {
  KmsError,
  TransitClient,
  type KmsErrorReason,
  type KmsResponse,
  type TransitClientOptions,
} from './transit-client.ts';
export { TransitKekProvider, transitKeyName, namespaceKeyPrefix, type TransitKekOptions } from './transit-kek.ts';
export {
  KMS_COMPONENTS,
  NAMESPACE_TOKEN_PERIOD,
  NAMESPACE_TOKEN_ROLE,
  applyPolicies,
  componentPolicies,
  createComponentToken,
  namespacePolicy,
  namespacePolicyName,
  policyHcl,
  policyName,
  type Capability,
  type KmsComponent,
  type PolicyRule,
} from './policies.ts';
export { NamespaceTokens } from './namespace-tokens.ts';
