// A small client for the Vault HTTP API that OpenBao serves (transit, policies, tokens).
// Hand-written on fetch rather than node-vault: the platform calls a dozen JSON endpoints, and
// node-vault brings a deprecated `request` stack and answers errors as untyped strings, where
// the operator needs to tell "the KMS is down" (retry, pause) from "no such key" (destroyed)
// from "forbidden" (a namespace token reaching for another tenant's key).
import { readFileSync } from 'node:fs';

export type KmsErrorReason =
  /** The KMS did not answer, or answered that it is sealed or not ready: retry later. */
  | 'unavailable'
  /** The token is missing, expired or lacks the policy for this path. */
  | 'forbidden'
  /** No such key (never created, or deleted: crypto-shredded). */
  | 'not-found'
  /** The KMS refused the request itself (bad ciphertext, wrong associated data, ...). */
  | 'rejected';

export class KmsError extends Error {
  override readonly name = 'KmsError';
  constructor(
    readonly reason: KmsErrorReason,
    /** What was asked: a method and path, never a token or plaintext. */
    readonly request: string,
    readonly status?: number,
    detail?: string,
  ) {
    super(`kms ${reason}: ${request}${status ? ` → ${status}` : ''}${detail ? ` (${detail})` : ''}`);
  }
}

export interface TransitClientOptions {
  /** http(s)://host:port of the OpenBao / Vault API. */
  address: string;
  /** The token, or a file holding it (re-read on each call, so a rotated Secret takes effect). */
  token?: string;
  tokenFile?: string;
  /** Per request; a KMS that takes longer counts as unavailable. */
  timeoutMs?: number;
}

export interface KmsResponse {
  status: number;
  data?: Record<string, unknown>;
  auth?: { client_token?: string; accessor?: string; policies?: string[] };
}

// Vault answers a missing transit key with 400 and one of these, not with 404.
const NOT_FOUND_400 = /no existing key named|encryption key not found|key not found|not found/i;

export class TransitClient {
  readonly address: string;

  constructor(private readonly opts: TransitClientOptions) {
    this.address = opts.address.replace(/\/+$/, '');
  }

  private token(): string {
    if (this.opts.token) return this.opts.token;
    if (!this.opts.tokenFile) throw new KmsError('forbidden', 'token', undefined, 'no token configured');
    try {
      return readFileSync(this.opts.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new KmsError(
        'forbidden',
        'token',
        undefined,
        `cannot read ${this.opts.tokenFile}: ${(err as NodeJS.ErrnoException).code}`,
      );
    }
  }

  /** One API call; `path` is under /v1/. Errors are KmsError with a reason the caller acts on. */
  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST', path: string, body?: unknown): Promise<KmsResponse> {
    const what = `${method} ${path}`;
    let res: Response;
    try {
      res = await fetch(`${this.address}/v1/${path}`, {
        method,
        headers: { 'X-Vault-Token': this.token(), ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      if (err instanceof KmsError) throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new KmsError('unavailable', what, undefined, cause);
    }
    const text = await res.text().catch(() => '');
    let json: { data?: Record<string, unknown>; auth?: KmsResponse['auth']; errors?: string[] } = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      // A proxy's HTML page, say: the status decides.
    }
    if (res.ok) return { status: res.status, data: json.data, auth: json.auth ?? undefined };
    const detail = (json.errors ?? []).join('; ').replace(/\s+/g, ' ').trim() || undefined;
    if (res.status === 404 || (res.status === 400 && detail && NOT_FOUND_400.test(detail)))
      throw new KmsError('not-found', what, res.status, detail);
    if (res.status === 401 || res.status === 403) throw new KmsError('forbidden', what, res.status, detail);
    if (res.status === 429 || res.status >= 500) throw new KmsError('unavailable', what, res.status, detail);
    throw new KmsError('rejected', what, res.status, detail);
  }

  /** `sys/health`: answers without a token; 200 only when initialised, unsealed and active. */
  async health(): Promise<{ ok: boolean; version?: string; sealed?: boolean; status?: number }> {
    try {
      const res = await fetch(`${this.address}/v1/sys/health`, {
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
      const body = (await res.json().catch(() => ({}))) as { version?: string; sealed?: boolean };
      return { ok: res.status === 200, status: res.status, version: body.version, sealed: body.sealed };
    } catch {
      return { ok: false };
    }
  }
}
