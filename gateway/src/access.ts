// Who may do what at the gateway. Kubernetes is the identity system the agencies already run, so
// a caller is whoever the API server says its bearer token belongs to (TokenReview), and what it
// may do is what the namespace's RBAC grants it (SubjectAccessReview) on verbs of the campaign:
//
//   create messagingcampaigns/uploads   <ns> <name>   upload a recipient list
//   create messagingcampaigns/messages  <ns> <name>   send one message
//   create optouts (cluster)                          record an opt-out (080 provider, sender system)
//   delete optouts (cluster)                          withdraw one: re-subscribe, a stricter grant
//
// Authorization is asked before the campaign is looked up, so a caller with no rights in a
// namespace gets the same 403 for a campaign that exists and one that does not.
import { GROUP, OPT_OUTS_RESOURCE, PLURAL, campaignRefOf } from '@anshim/api';
import { IngestError } from './errors.ts';

export interface Caller {
  /** The Kubernetes username, e.g. system:serviceaccount:mart:sender: what the audit chain names. */
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** A SubjectAccessReview's resource attributes, in the API group of Anshim's resources. */
export interface AccessRequest {
  verb: 'create' | 'delete' | 'get';
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface AccessControl {
  /** The token's owner, or undefined when the API server does not know the token. */
  authenticate(token: string): Promise<Caller | undefined>;
  allowed(caller: Caller, request: AccessRequest): Promise<boolean>;
}

/** What a campaign route asks; undefined for an id that names no namespace (nobody may act on it). */
export function campaignAccess(
  campaignId: string,
  subresource: 'uploads' | 'messages' | 'results',
): AccessRequest | undefined {
  let ref: { namespace: string; name: string };
  try {
    ref = campaignRefOf(campaignId);
  } catch {
    return undefined;
  }
  return { verb: subresource === 'results' ? 'get' : 'create', resource: PLURAL, subresource, ...ref };
}

/** Recording an opt-out is `create`; withdrawing one (optedOut: false) is `delete`, granted apart. */
export const optOutAccess = (optedOut: boolean): AccessRequest => ({
  verb: optedOut ? 'create' : 'delete',
  resource: OPT_OUTS_RESOURCE,
});

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

// Not the campaign's name: a refusal for a campaign that exists and one that does not read the same.
const describe = (r: AccessRequest) =>
  `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} (${GROUP}` +
  `${r.namespace ? `) in namespace ${r.namespace}` : ', cluster-wide)'}`;

/** The caller of a request, or 401: no credential, or one the API server does not know. */
export async function identify(access: AccessControl, authorization: string | undefined): Promise<Caller> {
  const token = bearerToken(authorization);
  if (!token)
    throw new IngestError(
      'unauthenticated',
      'send a bearer token (Authorization: Bearer <token>): a Kubernetes ServiceAccount token of the sending system',
    );
  let caller: Caller | undefined;
  try {
    caller = await access.authenticate(token);
  } catch (err) {
    throw unavailable(err);
  }
  if (!caller) throw new IngestError('unauthenticated', 'the bearer token is not valid (unknown, expired or revoked)');
  return caller;
}

/** 403 unless the caller holds the grant; the message names what was asked and nothing of what exists. */
export async function authorize(access: AccessControl, caller: Caller, request: AccessRequest): Promise<void> {
  let ok: boolean;
  try {
    ok = await access.allowed(caller, request);
  } catch (err) {
    throw unavailable(err);
  }
  if (!ok) throw new IngestError('forbidden', `${caller.username} may not ${describe(request)}`);
}

function unavailable(err: unknown): IngestError {
  // The API server's error may carry the request it refused (the token); keep its class only.
  return new IngestError(
    'auth-unavailable',
    `the gateway could not check the credential with the Kubernetes API server (${err instanceof Error ? err.name : 'error'}); try again`,
  );
}
