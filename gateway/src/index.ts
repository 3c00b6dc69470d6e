// @anshim/gateway: sealed ingest at the door (spreadsheet uploads and single messages).
export { createGatewayServer, UPLOAD_MEDIA_TYPES, type GatewayServer } from './server.ts';
export {
  ingestUpload,
  sendMessage,
  UploadFailedError,
  type AuditEvent,
  type GatewayDeps,
  type MessageRequest,
  type MessageResult,
  type UploadFormat,
  type UploadProgress,
  type UploadRequest,
  type UploadResult,
} from './ingest.ts';
export { StaticCampaignLookup, type CampaignInfo, type CampaignLookup } from './campaigns.ts';
export { IngestError, isIngestError, type IngestErrorCode } from './errors.ts';
export { DEFAULT_LIMITS, resolveLimits, type IngestLimits } from './limits.ts';
export { REJECTION_REASONS, type RejectionReason } from './recipient.ts';
export type { IngestCounts, RejectedRow } from './report.ts';
export type { RecordProducer } from './producer.ts';
