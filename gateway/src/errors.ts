// Typed ingest errors: a stable code a client can branch on, an HTTP status, and a message
// a person can act on. Messages name columns, rows, sizes and limits, never cell values.

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
  | 'empty-upload'
  | 'invalid-recipient'
  | 'kafka-unavailable';

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
  'empty-upload': 422,
  'invalid-recipient': 422,
  'kafka-unavailable': 503,
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
