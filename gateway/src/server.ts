// The gateway's HTTP face (Fastify), every route of it: a spreadsheet upload streamed straight
// into the sealed ingest, a single-message API for transactional traffic, and the opt-out line.
// Every route has schemas (http-schemas.ts); every refusal, ours or Fastify's, answers
// { error: { code, message }, progress? } and never echoes a request's content (http-errors.ts).
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Readable } from 'node:stream';
import type { Purpose } from '@anshim/api';
import { authorize, campaignAccess, identify, optOutAccess, type AccessControl, type Caller } from './access.ts';
import { IngestError } from './errors.ts';
import { sendError, sendNotFound } from './http-errors.ts';
import {
  CAMPAIGN_ID_PATTERN,
  campaignParams,
  countsSchema,
  errorResponses,
  messageBodySchema,
  messageResultSchema,
  optOutBodySchema,
  optOutResultSchema,
  UPLOAD_MEDIA_TYPES,
  uploadQuerystring,
  uploadResultSchema,
} from './http-schemas.ts';
import { ingestUpload, sendMessage, type GatewayDeps, type MessageRequest } from './ingest.ts';
import { callerRateLimit, campaignMessageLimit, FailedAuthentications, UploadSlots } from './http-limits.ts';
import { checkDeclaredLength, resolveLimits, type IngestLimits } from './limits.ts';
import { recordOptOutAudited, type OptOutAuditEvent, type OptOutRequest } from './optouts.ts';
import { traceRequest } from './telemetry.ts';

export { UPLOAD_MEDIA_TYPES } from './http-schemas.ts';

const UPLOAD_ROUTE = '/v1/campaigns/:campaignId/uploads';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, set before any route runs (access.ts); undefined only on /healthz. */
    caller?: Caller;
  }
}

export interface GatewayServerDeps extends GatewayDeps {
  /** Who a bearer token belongs to and what it may do (Kubernetes TokenReview / SubjectAccessReview). */
  access: AccessControl;
  /** The opt-out list key (HMAC); without it the gateway has no /v1/optouts route. */
  optOutKey?: Uint8Array;
  /** Called once per opt-out request, with the caller and the 080 line, never the phone. */
  auditOptOut?: (event: OptOutAuditEvent) => void | Promise<void>;
}

const campaignIdShape = new RegExp(CAMPAIGN_ID_PATTERN);

const callerOf = (req: { caller?: Caller }): Caller => {
  // identify() runs in every route's onRequest hook; a route without one is a bug, not a caller.
  if (!req.caller) throw new Error('a route ran without identifying its caller');
  return req.caller;
};

export function createGatewayServer(deps: GatewayServerDeps, limitOverrides: Partial<IngestLimits> = {}) {
  const limits = resolveLimits(limitOverrides);
  const app = Fastify({
    loggerInstance: deps.logger,
    // Request logs would carry URLs and timings only, but one line per upload with counts says more.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A slow client cannot hold a connection: idle sockets close, and a request (an upload's body
    // included) must arrive whole within requestTimeoutMs; Node's own default would cut a long upload at 5 min.
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: 5_000,
  });
  app.addSchema(countsSchema);
  app.decorateRequest('caller', undefined);
  // Every route but /healthz: 401 before anything else is read or looked up.
  const failedAuth = new FailedAuthentications(limits.failedAuthenticationsPerWindow, limits.rateWindowMs);
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url === '/healthz' || req.routeOptions.url === undefined) return;
    failedAuth.check(req.ip, reply);
    try {
      req.caller = await identify(deps.access, req.headers.authorization);
    } catch (err) {
      if ((err as { code?: string }).code === 'unauthenticated') failedAuth.record(req.ip);
      throw err;
    }
  });
  // Then 403 unless the namespace's RBAC grants the route's verb on this campaign (asked before
  // the campaign is looked up: no rights in a namespace, no telling what it holds).
  const campaignGrant =
    (subresource: 'uploads' | 'messages') =>
    async (req: { params: unknown; caller?: Caller }): Promise<void> => {
      const { campaignId } = req.params as { campaignId: string };
      // The grant is asked before schema validation runs (an upload's body must not be read
      // first), so an id no campaign can have is refused here as the schema would refuse it.
      const request = campaignIdShape.test(campaignId) ? campaignAccess(campaignId, subresource) : undefined;
      if (!request)
        throw new IngestError('invalid-request', 'params/campaignId must be <namespace>.<name>, in lower case');
      await authorize(deps.access, callerOf(req), request);
    };

  // Every route runs inside its request's server span.
  app.addHook('onRoute', (route) => {
    if (route.url === '/healthz') return;
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, req, reply) {
      return traceRequest(route.url, req, reply, async () => handler.call(this, req, reply));
    };
  });

  // Upload bodies reach the handler as the raw request stream.
  app.addContentTypeParser(UPLOAD_MEDIA_TYPES, (_req, payload, done) => done(null, payload));

  app.setErrorHandler((err, req, reply) => {
    // An upload's unread rest, or a body Fastify refused to parse, is not wanted: close rather
    // than drain it. A refused JSON message was read whole, so its connection stays open.
    const bodyUnread =
      req.routeOptions.url === UPLOAD_ROUTE || (err as { code?: string }).code?.startsWith('FST_ERR_CTP_');
    if (bodyUnread) reply.header('connection', 'close');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((_req, reply) => sendNotFound(reply));

  // Requests per caller (after identify(), registered above); the routes get it by registering after it.
  void app.register(rateLimit, callerRateLimit(limits));
  const uploads = new UploadSlots(limits.maxConcurrentUploads);
  void app.register(async (routes) => {
    routes.get(
      '/healthz',
      {
        config: { rateLimit: false },
        schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
      },
      () => ({ status: 'ok' }),
    );

    routes.post<{
      Params: { campaignId: string };
      Querystring: { purpose: Purpose; sheet?: string; format?: 'csv' | 'xlsx' | 'auto' };
    }>(
      UPLOAD_ROUTE,
      {
        schema: {
          params: campaignParams,
          querystring: uploadQuerystring,
          headers: { type: 'object', properties: { 'content-length': { type: 'integer', minimum: 0 } } },
          response: { 200: uploadResultSchema, ...errorResponses },
        },
        // Authorized, then an oversized upload refused by its declared length, before the body is read at all.
        // Then a slot among the uploads this process reads at once.
        onRequest: async (req, reply) => {
          await campaignGrant('uploads')(req);
          const declared = req.headers['content-length'];
          checkDeclaredLength(declared === undefined ? undefined : Number(declared), limits.maxUploadBytes);
          uploads.take(reply);
        },
      },
      async (req, reply) => {
        const body = req.body as Readable | undefined;
        if (!body || typeof body.pipe !== 'function')
          throw new IngestError(
            'unsupported-format',
            `send the file itself as the body (${UPLOAD_MEDIA_TYPES.join(', ')})`,
          );
        const declared = req.headers['content-length'];
        const result = await ingestUpload(
          deps,
          {
            campaignId: req.params.campaignId,
            actor: callerOf(req).username,
            purpose: req.query.purpose,
            source: body,
            format: req.query.format ?? 'auto',
            ...(req.query.sheet !== undefined ? { sheet: req.query.sheet } : {}),
            ...(declared !== undefined ? { declaredBytes: Number(declared) } : {}),
          },
          limits,
        );
        return reply.code(200).send(result);
      },
    );

    routes.post<{ Params: { campaignId: string }; Body: Omit<MessageRequest, 'campaignId' | 'actor'> }>(
      '/v1/campaigns/:campaignId/messages',
      {
        // Authorized first: the campaign's message count is kept only for callers allowed to send.
        onRequest: [campaignGrant('messages'), campaignMessageLimit(routes, limits, deps.campaigns)],
        schema: {
          params: campaignParams,
          body: messageBodySchema(limits),
          response: { 202: messageResultSchema, ...errorResponses },
        },
      },
      async (req, reply) => {
        const result = await sendMessage(deps, {
          ...req.body,
          campaignId: req.params.campaignId,
          actor: callerOf(req).username,
        });
        return reply.code(202).send(result);
      },
    );

    const optOutKey = deps.optOutKey;
    if (optOutKey)
      routes.post<{ Body: OptOutRequest }>(
        '/v1/optouts',
        {
          schema: { body: optOutBodySchema, response: { 202: optOutResultSchema, ...errorResponses } },
          // Which grant depends on the body (withdrawing an opt-out is the stricter one), so after parsing.
          preHandler: (req) => authorize(deps.access, callerOf(req), optOutAccess(req.body.optedOut ?? true)),
        },
        async (req, reply) =>
          reply.code(202).send(await recordOptOutAudited(deps, optOutKey, req.body, callerOf(req).username)),
      );
  });

  // Read-only: how many uploads this process is reading now (tests wait on it; a gauge could read it).
  return Object.assign(app, { uploadsReading: () => uploads.active });
}
export type GatewayServer = ReturnType<typeof createGatewayServer>;
