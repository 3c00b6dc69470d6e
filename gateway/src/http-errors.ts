// One error shape for every answer that is not a success, whoever refused the request: our
// typed IngestErrors, Fastify's own (schema validation, media type, body size, bad JSON, no
// such route) and anything unexpected. Fastify's messages for its own errors are replaced with
// fixed texts, because they may quote the request body (JSON.parse quotes what it choked on).
import type { FastifyError, FastifyReply } from 'fastify';
import { IngestError } from './errors.ts';
import { UploadFailedError } from './ingest.ts';
import { UPLOAD_MEDIA_TYPES } from './http-schemas.ts';

export interface ErrorBody {
  error: { code: string; message: string };
  progress?: UploadFailedError['progress'];
}

/** Maps an error that is not ours to a typed one with a fixed text. */
export function foreignError(err: FastifyError): IngestError {
  // Ajv's message names the failing field and rule ("body/recipient must have required
  // property 'phone'"), never the value.
  if (err.validation) return new IngestError('invalid-request', err.message);
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new IngestError(
        'unsupported-media-type',
        `send the file as one of: ${UPLOAD_MEDIA_TYPES.join(', ')} (uploads) or application/json (messages, opt-outs)`,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IngestError('request-too-large', 'the request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new IngestError('invalid-json', 'the request body is not valid JSON');
    default:
      return err.statusCode && err.statusCode < 500
        ? new IngestError('bad-request', 'the request was refused')
        : new IngestError('internal', 'the gateway failed; nothing was acknowledged for this request');
  }
}

export function errorBody(err: IngestError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err instanceof UploadFailedError) body.progress = err.progress;
  return body;
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const typed = err instanceof IngestError ? err : foreignError(err as FastifyError);
  if (typed.status >= 500 && !(err instanceof IngestError))
    reply.log.error({ errorClass: (err as Error)?.name, code: (err as FastifyError)?.code }, 'request failed');
  // RFC 6750: a 401 names the scheme it wants.
  if (typed.status === 401) reply.header('www-authenticate', 'Bearer realm="anshim-gateway"');
  return reply.code(typed.status).send(errorBody(typed));
}

/** No such route: the method and path are the caller's own, so they are not repeated either. */
export function sendNotFound(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .send(
      errorBody(
        new IngestError(
          'not-found',
          'no such route: see GET /healthz, POST /v1/campaigns/:campaignId/uploads, POST /v1/campaigns/:campaignId/messages, POST /v1/optouts',
        ),
      ),
    );
}
