// How much one caller, one campaign and all uploads together may ask of a gateway process.
// Counting is @fastify/rate-limit's (a fixed window per key, the IETF RateLimit-* headers and
// Retry-After on a 429); what is counted is ours: requests per authenticated caller (its
// Kubernetes username, so one system cannot starve the others), single messages per campaign
// (a multiple of the campaign's own spec.rateLimit: anything faster only grows its backlog), and
// uploads read at once (each holds a socket, a spill file and Kafka batches in flight). The
// counts are per gateway process: N replicas admit N times as much, which the chart's README says.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import { LRUCache } from 'lru-cache';
import type { CampaignLookup } from './campaigns.ts';
import { IngestError } from './errors.ts';
import type { IngestLimits } from './limits.ts';

/** The plug-in's options for every route but /healthz: requests per caller per window. */
export function callerRateLimit(limits: IngestLimits): RateLimitPluginOptions {
  return {
    global: true,
    // After identify() (a global onRequest hook registered first): the key is who is asking.
    hook: 'onRequest',
    max: limits.callerRequestsPerWindow,
    timeWindow: limits.rateWindowMs,
    keyGenerator: (req) => `caller:${req.caller?.username ?? 'anonymous'}`,
    enableDraftSpec: true,
    errorResponseBuilder: (_req, context) =>
      new IngestError(
        'rate-limited',
        `too many requests from this caller: at most ${context.max} in ${limits.rateWindowMs} ms (callerRequestsPerWindow); retry in ${context.after}`,
      ),
  };
}

/**
 * Single messages per campaign: `campaignMessageBurst` × its messagesPerSecond per second of
 * window. The plug-in runs one of its hooks per request (the caller's, here), so this count is
 * kept through its createRateLimit counter and answered by us, with the same headers.
 */
export function campaignMessageLimit(
  app: FastifyInstance,
  limits: IngestLimits,
  campaigns: CampaignLookup,
): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const campaignOf = (req: { params: unknown }) => (req.params as { campaignId: string }).campaignId;
  const count = app.createRateLimit({
    max: async (req) => {
      const rate = (await campaigns.get(campaignOf(req)))?.messagesPerSecond;
      // A campaign not found is refused by the handler (404): it is not counted here.
      return rate
        ? Math.max(1, Math.round((rate * limits.campaignMessageBurst * limits.rateWindowMs) / 1000))
        : Number.MAX_SAFE_INTEGER;
    },
    timeWindow: limits.rateWindowMs,
    keyGenerator: (req) => `campaign:${campaignOf(req)}`,
  });
  return async (req, reply) => {
    const verdict = await count(req);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    reply.header('ratelimit-limit', verdict.max);
    reply.header('ratelimit-remaining', 0);
    reply.header('ratelimit-reset', verdict.ttlInSeconds);
    reply.header('retry-after', verdict.ttlInSeconds);
    throw new IngestError(
      'rate-limited',
      `this campaign takes at most ${verdict.max} single messages in ${limits.rateWindowMs} ms ` +
        `(${limits.campaignMessageBurst} × its spec.rateLimit.messagesPerSecond); retry in ${verdict.ttlInSeconds} s`,
    );
  };
}

/**
 * Failed authentications per client address: each unknown token costs a TokenReview (a cache
 * miss by construction), so an address that keeps presenting bad tokens is answered 429 before
 * the API server is asked again, until its window ends. Valid callers are counted by name instead.
 */
export class FailedAuthentications {
  private readonly failures: LRUCache<string, { count: number; until: number }>;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {
    this.failures = new LRUCache({ max: 100_000, ttl: windowMs });
  }

  /** Throws 429 when `address` has failed `max` times in the current window. */
  check(address: string, reply: FastifyReply): void {
    const seen = this.failures.get(address);
    if (!seen || seen.count < this.max) return;
    const seconds = Math.max(1, Math.ceil((seen.until - Date.now()) / 1000));
    reply.header('retry-after', String(seconds));
    throw new IngestError(
      'rate-limited',
      `too many requests with invalid credentials from this address: at most ${this.max} in ${this.windowMs} ms (failedAuthenticationsPerWindow); retry in ${seconds} s`,
    );
  }

  record(address: string): void {
    const seen = this.failures.get(address);
    if (seen) seen.count++;
    // The window starts at the first failure; the entry expires with it.
    else this.failures.set(address, { count: 1, until: Date.now() + this.windowMs });
  }
}

/** Uploads read at once by this process; one more is answered 429 until a slot frees. */
export class UploadSlots {
  private inUse = 0;

  constructor(private readonly max: number) {}

  get active(): number {
    return this.inUse;
  }

  /** Takes a slot for the request, given back when its response has gone (or its socket closed). */
  take(reply: FastifyReply): void {
    if (this.inUse >= this.max) {
      reply.header('retry-after', '5');
      throw new IngestError(
        'too-many-uploads',
        `this gateway is reading ${this.max} uploads already (maxConcurrentUploads); retry in 5 seconds`,
      );
    }
    this.inUse++;
    let released = false;
    reply.raw.once('close', () => {
      if (!released) this.inUse--;
      released = true;
    });
  }
}
