// JSON schemas of the gateway's HTTP routes: what Fastify validates on the way in and
// serialises on the way out (a field not listed here never leaves the gateway).
import { PURPOSES } from '@anshim/api';
import type { IngestLimits } from './limits.ts';
import { REJECTION_REASONS } from './recipient.ts';

/** Media types an upload may carry; the body is streamed, never parsed by Fastify. */
export const UPLOAD_MEDIA_TYPES = [
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/octet-stream',
];

/** <namespace>.<name>: Kubernetes names, lower case. */
export const CAMPAIGN_ID_PATTERN = '^[a-z0-9][-a-z0-9.]*[a-z0-9]$';

export const campaignParams = {
  type: 'object',
  required: ['campaignId'],
  properties: {
    campaignId: { type: 'string', minLength: 3, maxLength: 317, pattern: CAMPAIGN_ID_PATTERN },
  },
} as const;

/** The one error shape every route answers with, whatever refused the request. */
export const errorSchema = {
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

export const countsSchema = {
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

/** Every status a route can answer besides its success, each with the error shape. */
export const errorResponses = Object.fromEntries(
  [400, 403, 404, 409, 410, 413, 415, 422, 500, 503].map((s) => [s, errorSchema]),
);

export const uploadQuerystring = {
  type: 'object',
  required: ['purpose'],
  properties: {
    purpose: { type: 'string', enum: [...PURPOSES] },
    sheet: { type: 'string', minLength: 1, maxLength: 100 },
    format: { type: 'string', enum: ['csv', 'xlsx', 'auto'], default: 'auto' },
  },
} as const;

export const uploadResultSchema = {
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

export function messageBodySchema(limits: IngestLimits) {
  return {
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
  } as const;
}

export const messageResultSchema = {
  type: 'object',
  properties: { recordId: { type: 'string' }, topic: { type: 'string' }, to: { type: 'string' } },
} as const;

export const optOutBodySchema = {
  type: 'object',
  required: ['optOutNumber', 'phone'],
  additionalProperties: false,
  properties: {
    optOutNumber: { type: 'string', pattern: '^080-?[0-9]{3}-?[0-9]{4}$' },
    phone: { type: 'string', minLength: 8, maxLength: 20 },
    optedOut: { type: 'boolean', default: true },
  },
} as const;

export const optOutResultSchema = {
  type: 'object',
  properties: { recorded: { type: 'boolean' }, optedOut: { type: 'boolean' } },
} as const;
