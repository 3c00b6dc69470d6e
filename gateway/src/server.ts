// The gateway's HTTP face (Fastify): a spreadsheet upload streamed straight into the sealed
// ingest, and a single-message API for transactional traffic. Every route has schemas; errors
// answer { error: { code, message }, progress? } and never echo a request's content.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { PURPOSES, type Purpose } from '@anshim/api';
import { IngestError } from './errors.ts';
import { ingestUpload, sendMessage, UploadFailedError, type GatewayDeps, type MessageRequest } from './ingest.ts';
import { checkDeclaredLength, resolveLimits, type IngestLimits } from './limits.ts';
import { REJECTION_REASONS } from './recipient.ts';
import { traceRequest } from './telemetry.ts';

/** Media types an upload may carry; the body is streamed, never parsed by Fastify. */
export const UPLOAD_MEDIA_TYPES = [
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/octet-stream',
];

const campaignParams = {
  type: 'object',
  required: ['campaignId'],
  properties: {
    // <namespace>.<name>: Kubernetes names, lower case.
    campaignId: { type: 'string', minLength: 3, maxLength: 317, pattern: '^[a-z0-9][-a-z0-9.]*[a-z0-9]$' },
  },
} as const;

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    progress: {
      type: 'object',
      properties: {
        uploadId: { type: 'string' },
        lastRowRead: { type: 'integer' },
        produced: { type: 'integer' },
        notProduced: { type: 'integer' },
        counts: { $ref: 'anshim-counts#' },
      },
    },
  },
} as const;

const countsSchema = {
  $id: 'anshim-counts',
  type: 'object',
  properties: {
    rows: { type: 'integer' },
    accepted: { type: 'integer' },
    duplicates: { type: 'integer' },
    rejected: { type: 'integer' },
    rejectedByReason: {
      type: 'object',
      properties: Object.fromEntries(REJECTION_REASONS.map((r) => [r, { type: 'integer' }])),
      additionalProperties: false,
    },
    consentOlderThanTwoYears: { type: 'integer' },
    consentUndated: { type: 'integer' },
  },
} as const;

const uploadResultSchema = {
  type: 'object',
  properties: {
    uploadId: { type: 'string' },
    campaignId: { type: 'string' },
    topic: { type: 'string' },
    format: { type: 'string' },
    encoding: { type: 'string' },
    sheet: { type: 'string' },
    bytes: { type: 'integer' },
    headerRow: { type: 'integer' },
    columns: {
      type: 'object',
      properties: {
        phone: { type: 'string' },
        name: { type: 'string' },
        advertisingConsent: { type: 'string' },
        nightConsent: { type: 'string' },
        consentDate: { type: 'string' },
        vars: { type: 'array', items: { type: 'string' } },
      },
    },
    counts: { $ref: 'anshim-counts#' },
    produced: { type: 'integer' },
    rejections: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          row: { type: 'integer' },
          reason: { type: 'string' },
          column: { type: 'string' },
          phone: { type: 'string' },
          name: { type: 'string' },
        },
      },
    },
    rejectionsTruncated: { type: 'boolean' },
  },
} as const;

const errorResponses = Object.fromEntries(
  [400, 403, 404, 409, 410, 413, 415, 422, 500, 503].map((s) => [s, errorSchema]),
);

/** Fixed texts for errors that are not ours: their own messages may quote the request body. */
function foreignError(err: FastifyError): { status: number; code: string; message: string } {
  if (err.validation) return { status: 400, code: 'invalid-request', message: err.message };
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'unsupported-media-type',
        message: `send the file as one of: ${UPLOAD_MEDIA_TYPES.join(', ')} (uploads) or application/json (messages)`,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'request-too-large', message: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'invalid-json', message: 'the request body is not valid JSON' };
    default:
      return err.statusCode && err.statusCode < 500
        ? { status: err.statusCode, code: 'bad-request', message: 'the request was refused' }
        : { status: 500, code: 'internal', message: 'the gateway failed; nothing was acknowledged for this request' };
  }
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof IngestError) {
    const body: Record<string, unknown> = { error: { code: err.code, message: err.message } };
    if (err instanceof UploadFailedError) body.progress = err.progress;
    return reply.code(err.status).send(body);
  }
  const { status, code, message } = foreignError(err as FastifyError);
  if (status >= 500)
    reply.log.error({ errorClass: (err as Error)?.name, code: (err as FastifyError)?.code }, 'request failed');
  return reply.code(status).send({ error: { code, message } });
}

export function createGatewayServer(deps: GatewayDeps, limitOverrides: Partial<IngestLimits> = {}) {
  const limits = resolveLimits(limitOverrides);
  const app = Fastify({
    loggerInstance: deps.logger,
    // Request logs would carry URLs and timings only, but one line per upload with counts says more.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
  });
  app.addSchema(countsSchema);

  // Every route registered from here on (main.ts adds /v1/optouts) runs inside its request’s server span.
  app.addHook('onRoute', (route) => {
    if (route.url === '/healthz') return;
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, req, reply) {
      return traceRequest(route.url, req, reply, async () => handler.call(this, req, reply));
    };
  });

  // Upload bodies reach the handler as the raw request stream.
  app.addContentTypeParser(UPLOAD_MEDIA_TYPES, (_req, payload, done) => done(null, payload));

  app.setErrorHandler((err, _req, reply) => {
    reply.header('connection', 'close');
    return sendError(reply, err);
  });

  app.get(
    '/healthz',
    { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    () => ({
      status: 'ok',
    }),
  );

  app.post<{
    Params: { campaignId: string };
    Querystring: { purpose: Purpose; sheet?: string; format?: 'csv' | 'xlsx' | 'auto' };
  }>(
    '/v1/campaigns/:campaignId/uploads',
    {
      schema: {
        params: campaignParams,
        querystring: {
          type: 'object',
          required: ['purpose'],
          properties: {
            purpose: { type: 'string', enum: [...PURPOSES] },
            sheet: { type: 'string', minLength: 1, maxLength: 100 },
            format: { type: 'string', enum: ['csv', 'xlsx', 'auto'], default: 'auto' },
          },
        },
        headers: {
          type: 'object',
          properties: { 'content-length': { type: 'integer', minimum: 0 } },
        },
        response: { 200: uploadResultSchema, ...errorResponses },
      },
      // Refuse an oversized upload by its declared length before the body is read at all.
      onRequest: async (req, reply) => {
        const declared = req.headers['content-length'];
        try {
          checkDeclaredLength(declared === undefined ? undefined : Number(declared), limits.maxUploadBytes);
        } catch (err) {
          reply.header('connection', 'close');
          return sendError(reply, err);
        }
      },
    },
    async (req, reply) => {
      const body = req.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function')
        return sendError(
          reply,
          new IngestError('unsupported-format', `send the file itself as the body (${UPLOAD_MEDIA_TYPES.join(', ')})`),
        );
      const declared = req.headers['content-length'];
      try {
        const result = await ingestUpload(
          deps,
          {
            campaignId: req.params.campaignId,
            purpose: req.query.purpose,
            source: body,
            format: req.query.format ?? 'auto',
            ...(req.query.sheet !== undefined ? { sheet: req.query.sheet } : {}),
            ...(declared !== undefined ? { declaredBytes: Number(declared) } : {}),
          },
          limits,
        );
        return reply.code(200).send(result);
      } catch (err) {
        // The rest of the body is not wanted: close rather than drain a possibly huge upload.
        reply.header('connection', 'close');
        return sendError(reply, err);
      }
    },
  );

  app.post<{ Params: { campaignId: string }; Body: Omit<MessageRequest, 'campaignId'> }>(
    '/v1/campaigns/:campaignId/messages',
    {
      schema: {
        params: campaignParams,
        body: {
          type: 'object',
          required: ['purpose', 'recipient'],
          additionalProperties: false,
          properties: {
            purpose: { type: 'string', enum: [...PURPOSES] },
            requestId: { type: 'string', minLength: 1, maxLength: 128 },
            notBeforeMs: { type: 'integer', minimum: 0 },
            recipient: {
              type: 'object',
              required: ['phone'],
              additionalProperties: false,
              properties: {
                phone: { type: 'string', minLength: 1, maxLength: 32 },
                name: { type: 'string', maxLength: 100 },
                vars: {
                  type: 'object',
                  maxProperties: limits.maxColumns,
                  additionalProperties: { type: 'string', maxLength: limits.maxCellChars },
                },
                consent: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    advertising: { type: 'boolean' },
                    night: { type: 'boolean' },
                    consentedAt: { type: 'string', maxLength: 40 },
                  },
                },
              },
            },
          },
        },
        response: {
          202: {
            type: 'object',
            properties: { recordId: { type: 'string' }, topic: { type: 'string' }, to: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      try {
        const result = await sendMessage(deps, { ...req.body, campaignId: req.params.campaignId });
        return reply.code(202).send(result);
      } catch (err) {
        return sendError(reply, err);
      }
    },
  );

  return app;
}
export type GatewayServer = ReturnType<typeof createGatewayServer>;
