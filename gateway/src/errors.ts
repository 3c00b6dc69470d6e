// Typed gateway errors: a stable code a client can branch on, an HTTP status, and a message
// a person can act on. Messages name columns, rows, sizes and limits, never cell values.
// The codes from 'not-found' on are the HTTP layer's own (http-errors.ts).

export type IngestErrorCode =
  | 'unknown-campaign'
  | 'campaign-not-accepting'
  | 'campaign-key-missing'
  | 'campaign-key-destroyed'
  | 'purpose-mismatch'
  | 'upload-too-large'
  | 'upload-incomplete'
  | 'unsupported-format'
  | 'unsupported-encoding'
  | 'malformed-csv'
  | 'malformed-xlsx'
  | 'sheet-not-found'
  | 'zip-bomb'
  | 'too-many-rows'
  | 'row-too-large'
  | 'missing-phone-column'
  | 'missing-consent-column'
  | 'missing-template-variable'
  | 'empty-upload'
  | 'invalid-recipient'
  | 'invalid-phone'
  | 'not-found'
  | 'request-too-large'
  | 'unsupported-media-type'
  | 'invalid-request'
  | 'invalid-json'
  | 'bad-request'
  | 'internal'
  | 'kafka-unavailable'
  | 'kms-unavailable'
  | 'unauthenticated'
  | 'forbidden'
  | 'auth-unavailable'
  | 'messages-not-accepted'
  | 'rate-limited'
  | 'too-many-uploads';

const STATUS: Record<IngestErrorCode, number> = {
  'unknown-campaign': 404,
  'campaign-not-accepting': 409,
  'campaign-key-missing': 409,
  'campaign-key-destroyed': 410,
  'purpose-mismatch': 403,
  'upload-too-large': 413,
  'upload-incomplete': 400,
  'unsupported-format': 415,
  'unsupported-encoding': 415,
  'malformed-csv': 422,
  'malformed-xlsx': 422,
  'sheet-not-found': 422,
  'zip-bomb': 422,
  'too-many-rows': 413,
  'row-too-large': 422,
  'missing-phone-column': 422,
  'missing-consent-column': 422,
  'missing-template-variable': 422,
  'empty-upload': 422,
  'invalid-recipient': 422,
  'invalid-phone': 422,
  'not-found': 404,
  'request-too-large': 413,
  'unsupported-media-type': 415,
  'invalid-request': 400,
  'invalid-json': 400,
  'bad-request': 400,
  internal: 500,
  'kafka-unavailable': 503,
  'kms-unavailable': 503,
  unauthenticated: 401,
  forbidden: 403,
  'auth-unavailable': 503,
  'messages-not-accepted': 403,
  'rate-limited': 429,
  'too-many-uploads': 429,
};

export class IngestError extends Error {
  override readonly name = 'IngestError';
  readonly status: number;

  // No `cause`: a library's error message may quote the input it choked on.
  constructor(
    readonly code: IngestErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const isIngestError = (err: unknown): err is IngestError => err instanceof IngestError;
