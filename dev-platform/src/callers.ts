// Callers of the gateway as a platform team makes them: a ServiceAccount, bound to one of the
// gateway's ClusterRoles (@anshim/api GATEWAY_ROLES, as the chart installs them), and a token
// from the real API server's TokenRequest. No hand-made tokens: the gateway's TokenReview must
// accept or refuse exactly what a cluster would.
import * as k8s from '@kubernetes/client-node';
import { GATEWAY_ROLES, type GatewayRole } from '@anshim/api';

const isConflict = (err: unknown) => (err as { code?: number }).code === 409;
async function createOrKeep(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** The gateway's ClusterRoles, as the chart installs them (idempotent). */
export async function installGatewayRoles(kc: k8s.KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const [name, rules] of Object.entries(GATEWAY_ROLES))
    await createOrKeep(() =>
      rbac.createClusterRole({
        body: {
          metadata: { name },
          rules: rules.map((r) => ({
            ...r,
            apiGroups: [...r.apiGroups],
            resources: [...r.resources],
            verbs: [...r.verbs],
          })),
        },
      }),
    );
}

export interface CallerOptions {
  /** Bind a gateway role: in the ServiceAccount's namespace (sender), or cluster-wide (opt-outs). */
  role?: GatewayRole;
  /** Bind the role in these namespaces instead of the ServiceAccount's own. */
  namespaces?: string[];
  clusterWide?: boolean;
  /** Token lifetime (default 1 h; the API server's minimum is 10 min). */
  expirationSeconds?: number;
}

/** A ServiceAccount `namespace/name` with the role bound as asked, and a fresh token of it. */
export async function serviceAccountToken(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  options: CallerOptions = {},
): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await createOrKeep(() => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  if (options.role) {
    await installGatewayRoles(kc);
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: options.role };
    const binding = `${name}-${options.role}`;
    if (options.clusterWide)
      await createOrKeep(() =>
        rbac.createClusterRoleBinding({ body: { metadata: { name: `${namespace}-${binding}` }, roleRef, subjects } }),
      );
    else
      for (const ns of options.namespaces ?? [namespace])
        await createOrKeep(() =>
          rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: binding }, roleRef, subjects } }),
        );
  }
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: {
      spec: { expirationSeconds: options.expirationSeconds ?? 3600 },
    } as k8s.AuthenticationV1TokenRequest,
  });
  const token = request.status?.token;
  if (!token) throw new Error(`the API server issued no token for ${namespace}/${name}`);
  return token;
}
