// The sealed ingest: a spreadsheet stream (or one API message) in, sealed campaign records
// out to the campaign's topic. Each row is validated and sealed in memory; nothing plaintext
// is written anywhere, and only counts leave as logs and audit events.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  KeyError,
  maskPhone,
  sealCampaignRecord,
  type CampaignKeyStore,
  type DataKey,
  type Logger,
} from '@anshim/core';
import { CAMPAIGN_HEADER, ACCEPTING_PHASES, needsMobile, type Purpose } from '@anshim/api';
import { PRIORITY_OF, acceptsMessages, type CampaignInfo, type CampaignLookup } from './campaigns.ts';
import { coalescerFor } from './coalescer.ts';
import { csvRows, type CsvMeta } from './csv-rows.ts';
import { IngestError } from './errors.ts';
import { mapHeaderRow, type HeaderMap, type RecipientField } from './headers.ts';
import { ByteCounter, checkDeclaredLength, resolveLimits, type IngestLimits } from './limits.ts';
import { RecordBatcher, type RecordProducer } from './producer.ts';
import {
  admitRecipient,
  recipientFromJson,
  validateRecipient,
  type JsonRecipient,
  type RecipientCells,
  type RecipientPolicy,
} from './recipient.ts';
import { RecordIds } from './record-ids.ts';
import { IngestReport, type IngestCounts, type RejectedRow } from './report.ts';
import { cellText, isBlankRow, type Cell, type SheetRow } from './rows.ts';
import { traceSend } from './telemetry.ts';
import { xlsxRows, type XlsxMeta } from './xlsx-rows.ts';

/** Counts only: no number, name, cell value or header of a data row ever appears here. */
export interface AuditEvent {
  type: 'upload' | 'message';
  /** Who asked: the authenticated caller's name (a Kubernetes username), never a phone number. */
  actor: string;
  campaignId: string;
  uploadId?: string;
  outcome: 'completed' | 'failed';
  errorCode?: string;
  purpose: Purpose;
  format?: UploadFormat;
  bytes?: number;
  counts?: IngestCounts;
  produced: number;
  startedAt: string;
  finishedAt: string;
}

export interface GatewayDeps {
  keys: CampaignKeyStore;
  campaigns: CampaignLookup;
  /** A connected kafkajs producer (idempotent recommended); the gateway never disconnects it. */
  producer: RecordProducer;
  logger: Logger;
  /** Called once per upload and per message, with counts only. */
  audit?: (event: AuditEvent) => void | Promise<void>;
  /** Where an xlsx upload's encrypted spill file is created; os.tmpdir() by default. */
  spillDir?: string;
  now?: () => number;
}

export type UploadFormat = 'csv' | 'xlsx';

export interface UploadRequest {
  campaignId: string;
  /** The authenticated caller, for the audit entry. */
  actor: string;
  /** The purpose the dataset was collected for; must equal the campaign's (purpose binding). */
  purpose: Purpose;
  source: Readable | AsyncIterable<Buffer>;
  /** 'auto' (default) tells xlsx from csv by the first bytes. */
  format?: UploadFormat | 'auto';
  /** xlsx: the sheet to read (default: the first visible one). */
  sheet?: string;
  /** Content-Length, when known: refused before reading if over the limit, and checked at the end. */
  declaredBytes?: number;
}

export interface UploadResult {
  uploadId: string;
  campaignId: string;
  topic: string;
  format: UploadFormat;
  encoding?: string;
  sheet?: string;
  bytes: number;
  /** The row holding the headers (rows above it, such as a title, are skipped). */
  headerRow: number;
  /** Which header was read as what; every other header is a template variable. */
  columns: Partial<Record<RecipientField, string>> & { vars: string[] };
  counts: IngestCounts;
  /** Records Kafka acknowledged (= counts.accepted on success). */
  produced: number;
  rejections: RejectedRow[];
  rejectionsTruncated: boolean;
}

/** Where a failed upload stopped: what was produced (sealed, acknowledged) and what was not. */
export interface UploadProgress {
  uploadId: string;
  /** The last spreadsheet row read before the failure (0: none). */
  lastRowRead: number;
  counts: IngestCounts;
  produced: number;
  /** Accepted rows that were not produced; re-upload the corrected file (ids are stable, nothing doubles). */
  notProduced: number;
}

export class UploadFailedError extends IngestError {
  constructor(
    cause: IngestError,
    readonly progress: UploadProgress,
  ) {
    super(cause.code, cause.message);
  }
}

async function campaignFor(deps: GatewayDeps, campaignId: string, purpose: Purpose): Promise<CampaignInfo> {
  const campaign = await deps.campaigns.get(campaignId);
  if (!campaign) throw new IngestError('unknown-campaign', `there is no campaign ${campaignId}`);
  if (!ACCEPTING_PHASES.includes(campaign.phase))
    throw new IngestError(
      'campaign-not-accepting',
      `campaign ${campaignId} is ${campaign.phase}; recipients are accepted while it is ${ACCEPTING_PHASES.join(' or ')}`,
    );
  if (campaign.purpose !== purpose)
    throw new IngestError(
      'purpose-mismatch',
      `this data was collected for ${purpose} use and campaign ${campaignId} is ${campaign.purpose}: ` +
        'data collected for one purpose is not used for another (purpose binding)',
    );
  return campaign;
}

async function openKeys(deps: GatewayDeps, campaignId: string): Promise<DataKey[]> {
  try {
    const keys = await deps.keys.open(campaignId);
    if (keys.length === 0) throw new KeyError('no-campaign-key', campaignId);
    return keys;
  } catch (err) {
    if (err instanceof KeyError && err.reason === 'no-campaign-key')
      throw new IngestError(
        'campaign-key-missing',
        `campaign ${campaignId} has no data key yet; the operator provisions it`,
      );
    if (err instanceof KeyError && err.reason === 'campaign-key-destroyed')
      throw new IngestError(
        'campaign-key-destroyed',
        `campaign ${campaignId}'s data key was destroyed; it takes no more data`,
      );
    if (err instanceof KeyError && err.reason === 'kms-unavailable')
      throw new IngestError(
        'kms-unavailable',
        'the key-management service holding the campaign key did not answer; nothing was accepted, try again',
      );
    throw err;
  }
}

/** Our errors as they are; a broken connection as an incomplete upload; anything else undefined. */
function asIngestError(err: unknown): IngestError | undefined {
  if (err instanceof IngestError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (
    code === 'ECONNRESET' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    (err as Error | undefined)?.message === 'aborted'
  )
    return new IngestError('upload-incomplete', 'the upload was interrupted before its end');
  return undefined;
}

const sealingKey = (keys: DataKey[]): DataKey => keys[keys.length - 1] as DataKey;

const OLE2 = [0xd0, 0xcf, 0x11, 0xe0];

/** Splits off the first chunk to tell the format, then yields everything. */
async function sniffFormat(
  bytes: AsyncIterable<Buffer>,
  declared: UploadFormat | 'auto',
): Promise<{ format: UploadFormat; stream: AsyncIterable<Buffer> }> {
  const it = bytes[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new IngestError('empty-upload', 'the upload is empty');
  const head: Buffer = first.value;
  const zip = head[0] === 0x50 && head[1] === 0x4b;
  const ole = OLE2.every((b, i) => head[i] === b);
  const format: UploadFormat = declared === 'auto' ? (zip || ole ? 'xlsx' : 'csv') : declared;
  if (format === 'csv' && (zip || ole))
    throw new IngestError(
      'unsupported-format',
      'the upload was declared CSV but is a spreadsheet file; send it as xlsx',
    );
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  return { format, stream: all() };
}

const RECIPIENT_FIELDS: RecipientField[] = ['phone', 'name', 'advertisingConsent', 'nightConsent', 'consentDate'];

function recipientCells(row: SheetRow, header: HeaderMap): RecipientCells {
  const at = (field: RecipientField): Cell | undefined => {
    const column = header.fields[field];
    return column === undefined ? undefined : row.cells[column];
  };
  return {
    phone: at('phone'),
    name: at('name'),
    advertisingConsent: at('advertisingConsent'),
    nightConsent: at('nightConsent'),
    consentDate: at('consentDate'),
    vars: header.vars.map((v) => [v.name, row.cells[v.column]]),
  };
}

/** Streams one recipient spreadsheet into the campaign's topic; see UploadResult and UploadFailedError. */
export async function ingestUpload(
  deps: GatewayDeps,
  request: UploadRequest,
  limitOverrides: Partial<IngestLimits> = {},
): Promise<UploadResult> {
  const limits = resolveLimits(limitOverrides);
  const now = deps.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  const uploadId = randomUUID();
  const { campaignId, purpose } = request;
  const log = deps.logger.child({ uploadId, campaignId });
  const report = new IngestReport(limits.maxReportedRejections);
  let format: UploadFormat | undefined;
  let batcher: RecordBatcher | undefined;
  let lastRowRead = 0;
  const counter = new ByteCounter(limits.maxUploadBytes);
  let keys: DataKey[] = [];
  const audit = async (
    event: Omit<AuditEvent, 'type' | 'actor' | 'campaignId' | 'uploadId' | 'purpose' | 'startedAt' | 'finishedAt'>,
  ) => {
    try {
      await deps.audit?.({
        type: 'upload',
        actor: request.actor,
        campaignId,
        uploadId,
        purpose,
        startedAt,
        finishedAt: new Date(now()).toISOString(),
        ...event,
      });
    } catch {
      log.error('audit callback failed');
    }
  };

  try {
    checkDeclaredLength(request.declaredBytes, limits.maxUploadBytes);
    const campaign = await campaignFor(deps, campaignId, purpose);
    keys = await openKeys(deps, campaignId);
    const sealWith = sealingKey(keys);
    const ids = new RecordIds(keys[0] as DataKey, campaignId);
    const policy: RecipientPolicy = {
      advertising: campaign.purpose === 'advertising',
      mobileOnly: needsMobile(campaign.channel),
      now: now(),
    };
    const priority = PRIORITY_OF[campaign.priorityClass];
    batcher = new RecordBatcher(deps.producer, campaign.topic, limits.batchRecords, limits.maxInFlightBatches);

    // pipe, not pipeline: on a refusal the request must stay open for the answer (destroying
    // an IncomingMessage destroys its socket); the unread rest is dropped with the connection.
    const source = request.source instanceof Readable ? request.source : Readable.from(request.source);
    source.once('error', (err) => counter.destroy(err));
    source.pipe(counter);
    const sniffed = await sniffFormat(counter, request.format ?? 'auto');
    format = sniffed.format;
    const csvMeta: CsvMeta = {};
    const xlsxMeta: XlsxMeta = {};
    const rows =
      format === 'csv'
        ? csvRows(sniffed.stream, limits, csvMeta)
        : xlsxRows(
            sniffed.stream,
            limits,
            { ...(request.sheet !== undefined ? { sheet: request.sheet } : {}), spillDir: deps.spillDir },
            xlsxMeta,
          );

    let header: HeaderMap | undefined;
    let headerRow = 0;
    let columnNames: Partial<Record<RecipientField, string>> = {};
    let searched = 0;
    const seen = new Set<string>();
    for await (const row of rows) {
      lastRowRead = row.row;
      if (isBlankRow(row)) continue;
      if (!header) {
        header = mapHeaderRow(row.cells.map((c) => (c?.kind === 'text' ? c.value : undefined)));
        if (!header) {
          if (++searched >= limits.maxHeaderSearchRows) break;
          continue;
        }
        headerRow = row.row;
        columnNames = Object.fromEntries(
          RECIPIENT_FIELDS.flatMap((f) => {
            const column = header?.fields[f];
            return column === undefined ? [] : [[f, cellText(row.cells[column])]];
          }),
        );
        if (policy.advertising && header.fields.advertisingConsent === undefined)
          throw new IngestError(
            'missing-consent-column',
            `campaign ${campaignId} is advertising, and the sheet has no advertising-consent column (광고수신동의); ` +
              'advertising needs each recipient’s prior opt-in (정보통신망법 제50조)',
          );
        // Refused before anything is produced: otherwise every message would dead-letter later.
        const missing = (campaign.templateVariables ?? []).filter((v) => !header!.vars.some((c) => c.name === v));
        if (missing.length > 0)
          throw new IngestError(
            'missing-template-variable',
            `the template uses ${missing.map((v) => `#{${v}}`).join(', ')}, and the sheet has no column named so (header row ${row.row})`,
          );
        continue;
      }
      if (++report.counts.rows > limits.maxRows)
        throw new IngestError('too-many-rows', `the upload has more than ${limits.maxRows} rows (maxRows)`);
      const verdict = validateRecipient(recipientCells(row, header), columnNames, policy);
      if (!verdict.ok) {
        report.reject(row.row, verdict);
        continue;
      }
      const recordId = ids.forRecipient(verdict.national);
      if (seen.has(recordId)) {
        report.counts.duplicates++;
        continue;
      }
      seen.add(recordId);
      report.counts.accepted++;
      if (verdict.consentStale) report.counts.consentOlderThanTwoYears++;
      if (verdict.consentUndated) report.counts.consentUndated++;
      const value = Buffer.from(
        sealCampaignRecord(sealWith, campaignId, recordId, verdict.payload, { priority, enqueuedAtMs: now() }),
      );
      await batcher.add({ key: recordId, value, headers: { [CAMPAIGN_HEADER]: campaignId } });
    }
    if (!header)
      throw new IngestError(
        lastRowRead === 0 ? 'empty-upload' : 'missing-phone-column',
        lastRowRead === 0
          ? 'the upload has no rows'
          : `no header row with a phone column (전화번호, 휴대폰, 휴대폰번호, 연락처, phone …) in the first ${limits.maxHeaderSearchRows} rows` +
              (xlsxMeta.sheet === undefined
                ? ''
                : ` of sheet "${xlsxMeta.sheet}"; the workbook's sheets are ${(xlsxMeta.sheets ?? []).map((n) => `"${n}"`).join(', ')} (choose one with sheet=)`),
      );
    if (report.counts.rows === 0) throw new IngestError('empty-upload', 'the sheet has a header row but no recipients');
    await batcher.flush();
    if (request.declaredBytes !== undefined && counter.bytes < request.declaredBytes)
      throw new IngestError(
        'upload-incomplete',
        `the upload ended after ${counter.bytes} of ${request.declaredBytes} declared bytes`,
      );

    const result: UploadResult = {
      uploadId,
      campaignId,
      topic: campaign.topic,
      format,
      ...(csvMeta.encoding ? { encoding: csvMeta.encoding } : {}),
      ...(xlsxMeta.sheet !== undefined ? { sheet: xlsxMeta.sheet } : {}),
      bytes: counter.bytes,
      headerRow,
      columns: { ...columnNames, vars: header.vars.map((v) => v.name) },
      counts: report.counts,
      produced: batcher.produced,
      rejections: report.rejections,
      rejectionsTruncated: report.rejectionsTruncated,
    };
    log.info({ format, bytes: counter.bytes, counts: report.counts, produced: batcher.produced }, 'upload ingested');
    await audit({
      outcome: 'completed',
      format,
      bytes: counter.bytes,
      counts: report.counts,
      produced: batcher.produced,
    });
    return result;
  } catch (err) {
    counter.destroy();
    if (batcher) await batcher.settle();
    const produced = batcher?.produced ?? 0;
    const failure = asIngestError(err);
    if (!failure) {
      // A bug, not bad input: surface it (HTTP 500) after the audit; logged by class only.
      log.error({ errorClass: err instanceof Error ? err.name : typeof err }, 'upload failed unexpectedly');
      await audit({ outcome: 'failed', errorCode: 'internal', bytes: counter.bytes, counts: report.counts, produced });
      throw err;
    }
    const progress: UploadProgress = {
      uploadId,
      lastRowRead,
      counts: report.counts,
      produced,
      notProduced: report.counts.accepted - produced,
    };
    log.warn({ code: failure.code, format, lastRowRead, counts: report.counts, produced }, 'upload refused');
    await audit({
      outcome: 'failed',
      errorCode: failure.code,
      ...(format ? { format } : {}),
      bytes: counter.bytes,
      counts: report.counts,
      produced,
    });
    throw new UploadFailedError(failure, progress);
  } finally {
    for (const key of keys) key.destroy();
  }
}

export interface MessageRequest {
  campaignId: string;
  /** The authenticated caller, for the audit entry. */
  actor: string;
  purpose: Purpose;
  recipient: JsonRecipient;
  /** The client's id for this request: a retry with the same id becomes the same record (deduped). */
  requestId?: string;
  /** Do not deliver before this time (ms since the epoch). */
  notBeforeMs?: number;
}

export interface MessageResult {
  recordId: string;
  topic: string;
  /** Masked: 010-****-5678. */
  to: string;
}

/** Where a refused message's fault is, named as the request's JSON names it. */
const MESSAGE_FIELDS = {
  phone: 'phone',
  name: 'name',
  advertisingConsent: 'consent.advertising',
  nightConsent: 'consent.night',
  consentDate: 'consent.consentedAt',
} as const;

/** Seals and produces one transactional message (OTP, alert) on the same path as an upload's rows. */
export async function sendMessage(deps: GatewayDeps, request: MessageRequest): Promise<MessageResult> {
  const now = deps.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  const { campaignId, purpose, recipient } = request;
  let keys: DataKey[] = [];
  let outcome: Pick<AuditEvent, 'outcome' | 'errorCode' | 'produced'> = { outcome: 'failed', produced: 0 };
  try {
    const campaign = await campaignFor(deps, campaignId, purpose);
    if (!acceptsMessages(campaign))
      throw new IngestError(
        'messages-not-accepted',
        campaign.purpose === 'advertising'
          ? `campaign ${campaignId} is advertising: its recipients come from an uploaded, consented list, never one at a time`
          : `campaign ${campaignId} (${campaign.priorityClass}) does not take single messages: they are for transactional and alert campaigns, or one whose spec.acceptMessages is true`,
      );
    keys = await openKeys(deps, campaignId);
    const verdict = admitRecipient(recipientFromJson(recipient), MESSAGE_FIELDS, {
      advertising: campaign.purpose === 'advertising',
      mobileOnly: needsMobile(campaign.channel),
      now: now(),
    });
    if (!verdict.ok)
      throw new IngestError(
        'invalid-recipient',
        `the recipient was refused: ${verdict.reason}${verdict.column ? ` (${verdict.column})` : ''}`,
      );
    const recordId = new RecordIds(keys[0] as DataKey, campaignId).forMessage(verdict.national, request.requestId);
    const value = Buffer.from(
      sealCampaignRecord(sealingKey(keys), campaignId, recordId, verdict.payload, {
        priority: PRIORITY_OF[campaign.priorityClass],
        enqueuedAtMs: now(),
        notBeforeMs: request.notBeforeMs ?? 0,
      }),
    );
    // Coalesced with concurrent sends into one produce request; resolves once Kafka has the record.
    const message = { key: recordId, value, headers: { [CAMPAIGN_HEADER]: campaignId } };
    await traceSend(campaign.topic, [message], () => coalescerFor(deps.producer).send(campaign.topic, message));
    outcome = { outcome: 'completed', produced: 1 };
    return { recordId, topic: campaign.topic, to: maskPhone(verdict.national) };
  } catch (err) {
    if (err instanceof IngestError) outcome = { outcome: 'failed', errorCode: err.code, produced: 0 };
    throw err;
  } finally {
    for (const key of keys) key.destroy();
    try {
      await deps.audit?.({
        type: 'message',
        actor: request.actor,
        campaignId,
        purpose,
        startedAt,
        finishedAt: new Date(now()).toISOString(),
        ...outcome,
      });
    } catch {
      deps.logger.error({ campaignId }, 'audit callback failed');
    }
  }
}
