// The gateway's grants, as RBAC rules: the chart installs them as ClusterRoles, a platform team
// binds them (a RoleBinding per tenant namespace for senders, a ClusterRoleBinding for the 080
// provider), and the gateway asks for exactly these verbs with SubjectAccessReview. The
// resources are virtual (no such API object exists): RBAC authorizes verbs on names, which is
// all a SubjectAccessReview needs.
import { GROUP, PLURAL } from './names.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const OPT_OUTS_RESOURCE = 'optouts';

export const GATEWAY_ROLES = {
  /** Upload recipient lists to, and send single messages through, a namespace's campaigns. */
  'anshim-sender': [{ apiGroups: [GROUP], resources: [`${PLURAL}/uploads`, `${PLURAL}/messages`], verbs: ['create'] }],
  /** Record opt-outs (수신거부): the 080 provider's system, or a sender's own. */
  'anshim-optout-recorder': [{ apiGroups: [GROUP], resources: [OPT_OUTS_RESOURCE], verbs: ['create'] }],
  /** Also withdraw an opt-out (re-subscribe): granted apart, since it lets advertising reach a number again. */
  'anshim-optout-resubscriber': [{ apiGroups: [GROUP], resources: [OPT_OUTS_RESOURCE], verbs: ['create', 'delete'] }],
} as const satisfies Record<string, readonly PolicyRule[]>;

export type GatewayRole = keyof typeof GATEWAY_ROLES;
