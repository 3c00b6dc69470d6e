// AccessControl by the API server itself: TokenReview says whose a token is, SubjectAccessReview
// whether the namespace's RBAC lets it do the thing. The gateway's own ServiceAccount needs the
// two `create` verbs (the chart binds system:auth-delegator).
//
// Answers are reused briefly (`cacheMs`): the single-message API takes hundreds of OTPs a second
// from one system, and two API calls per message would make the API server the bottleneck. A
// token is remembered by its SHA-256, never as itself; a decision by the whole identity (user,
// uid, groups, extra) and the whole request, so nothing is ever decided for one caller by
// another's answer. A token revoked or a RoleBinding removed takes effect within `cacheMs`.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import { GROUP } from '@anshim/api';
import type { AccessControl, AccessRequest, Caller } from './access.ts';

export interface KubernetesAccessOptions {
  /** How long an answer is reused (default 10 s). */
  cacheMs?: number;
  /** Answers remembered at most (default 10,000 of each kind). */
  maxEntries?: number;
  /** Audiences a token must be issued for (TokenReview spec.audiences); default the API server's. */
  audiences?: string[];
}

// lru-cache wants object values; a token nobody owns is remembered as { caller: undefined }.
interface Authenticated {
  caller: Caller | undefined;
}

export class KubernetesAccessControl implements AccessControl {
  private readonly authn: k8s.AuthenticationV1Api;
  private readonly authz: k8s.AuthorizationV1Api;
  private readonly tokens: LRUCache<string, Authenticated, string>;
  private readonly decisions: LRUCache<string, { allowed: boolean }, { caller: Caller; request: AccessRequest }>;
  private readonly audiences: string[] | undefined;

  constructor(kc: k8s.KubeConfig, options: KubernetesAccessOptions = {}) {
    this.authn = kc.makeApiClient(k8s.AuthenticationV1Api);
    this.authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const ttl = options.cacheMs ?? 10_000;
    const max = options.maxEntries ?? 10_000;
    // fetchMethod: concurrent asks for one key share one API call; a failed call is not cached.
    this.tokens = new LRUCache({ max, ttl, fetchMethod: (_key, _old, { context }) => this.reviewToken(context) });
    this.decisions = new LRUCache({
      max,
      ttl,
      fetchMethod: async (_key, _old, { context }) => ({ allowed: await this.reviewAccess(context) }),
    });
    this.audiences = options.audiences;
  }

  async authenticate(token: string): Promise<Caller | undefined> {
    const key = createHash('sha256').update(token).digest('base64url');
    const got = await this.tokens.fetch(key, { context: token });
    return got?.caller;
  }

  async allowed(caller: Caller, request: AccessRequest): Promise<boolean> {
    const identity = [caller.username, caller.uid ?? '', [...caller.groups].sort(), caller.extra ?? {}];
    const key = JSON.stringify([identity, request]);
    const got = await this.decisions.fetch(key, { context: { caller, request } });
    return got?.allowed === true;
  }

  private async reviewToken(token: string): Promise<Authenticated> {
    const review = await this.authn.createTokenReview({
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(this.audiences ? { audiences: this.audiences } : {}) },
      },
    });
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) return { caller: undefined };
    return {
      caller: {
        username: user.username,
        ...(user.uid ? { uid: user.uid } : {}),
        groups: user.groups ?? [],
        ...(user.extra ? { extra: user.extra } : {}),
      },
    };
  }

  private async reviewAccess({ caller, request }: { caller: Caller; request: AccessRequest }): Promise<boolean> {
    const review = await this.authz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: caller.username,
          ...(caller.uid ? { uid: caller.uid } : {}),
          groups: caller.groups,
          ...(caller.extra ? { extra: caller.extra } : {}),
          resourceAttributes: { group: GROUP, ...request },
        },
      },
    });
    return review.status?.allowed === true;
  }
}
