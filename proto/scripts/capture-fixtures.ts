// Captures proto/fixtures/v1/*.bin: one encoding per message type as written by the v1
// schema. Run once per schema version (npm run -w proto fixtures); never rewrite an
// existing version's files — the fixture test proves later readers still decode them.
// Values are fictitious (no real person's number or name).
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Ack,
  AckStatus,
  CampaignRecord,
  CarrierMessage,
  Channel,
  DeadLetter,
  DeliveryReport,
  Priority,
  ProgressRecord,
  RecipientPayload,
  ReportBatch,
  ReportRecord,
  ReportsAck,
  ResultCode,
  SubmitResponse,
} from '../src/index.ts';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'v1');
const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

const report = {
  messageId: 'msg-0001',
  campaignId: 'cmp-2024-weekly',
  channel: Channel.SMS,
  carrier: 'skt',
  result: ResultCode.DELIVERED,
  submittedAtMs: 1_718_000_000_000,
  reportedAtMs: 1_718_000_001_500,
  attempt: 2,
  idempotencyKey: 'cmp-2024-weekly:rec-0001:sms',
};

const fixtures: Record<string, Uint8Array> = {
  'campaign-record': CampaignRecord.encode({
    schemaVersion: 1,
    recordId: 'rec-0001',
    campaignId: 'cmp-2024-weekly',
    keyId: 'dk-cmp-2024-weekly-1',
    sealedRecipient: seq(40),
    priority: Priority.BULK,
    enqueuedAtMs: 1_717_999_000_000,
    notBeforeMs: 1_718_060_400_000,
  }).finish(),
  'recipient-payload': RecipientPayload.encode({
    phone: '01099990001',
    name: '테스트',
    vars: { store: '안심마트 강남점', coupon: 'A-1004' },
    consent: { advertising: true, night: false, consentedAtMs: 1_700_000_000_000 },
  }).finish(),
  'report-record': ReportRecord.encode({
    schemaVersion: 1,
    report,
    fallback: true,
    fallbackFromChannel: Channel.ALIMTALK,
    workerId: 'worker-7f9c-0',
  }).finish(),
  'dead-letter': DeadLetter.encode({
    recordId: 'rec-0002',
    campaignId: 'cmp-2024-weekly',
    reason: 'unknown-key',
    detail: 'data key dk-old not in keyring',
    original: seq(24, 100),
    attempts: 5,
    failedAtMs: 1_718_000_002_000,
  }).finish(),
  'carrier-message': CarrierMessage.encode({
    id: 'msg-0001',
    campaignId: 'cmp-2024-weekly',
    channel: Channel.ALIMTALK,
    sealedRecipient: seq(32),
    sealedBody: seq(48, 200),
    idempotencyKey: 'cmp-2024-weekly:rec-0001:alimtalk',
    priority: Priority.TRANSACTIONAL,
    expiresAtMs: 1_718_003_600_000,
    attempt: 1,
    templateCode: 'ORDER_SHIPPED_V2',
    senderNumber: '15880000',
    keyId: 'tk-kakao-1',
  }).finish(),
  'submit-response': SubmitResponse.encode({
    acks: [
      Ack.create({ messageId: 'msg-0001', status: AckStatus.ACCEPTED }),
      Ack.create({
        messageId: 'msg-0002',
        status: AckStatus.THROTTLED,
        result: ResultCode.THROTTLED,
        retryAfterMs: 250,
        detail: 'tps limit',
      }),
    ],
  }).finish(),
  'delivery-report': DeliveryReport.encode(report).finish(),
  // Added with AckedReports: a numbered batch and the acknowledgement of two batches.
  'report-batch': ReportBatch.encode({ reports: [report], sequence: 7 }).finish(),
  'reports-ack': ReportsAck.encode({ subscribe: { campaignIds: ['cmp-2024-weekly'] }, sequences: [6, 7] }).finish(),
  'progress-record': ProgressRecord.encode({
    schemaVersion: 1,
    campaignId: 'cmp-2024-weekly',
    workerId: 'worker-7f9c-0',
    sent: 1_204,
    duplicates: 3,
    results: { DELIVERED: 1_150, HANDSET_OFF: 12 },
    fellBack: 40,
    deadLettered: { 'invalid-number': 2 },
    held: 7,
    updatedAtMs: 1_718_000_003_000,
  }).finish(),
};

const force = process.argv.includes('--force');
await mkdir(outDir, { recursive: true });
for (const [name, bytes] of Object.entries(fixtures)) {
  const exists = await access(join(outDir, `${name}.bin`)).then(
    () => true,
    () => false,
  );
  if (exists && !force) {
    console.log(`${name}.bin exists; kept (captured fixtures are immutable, --force to overwrite)`);
    continue;
  }
  await writeFile(join(outDir, `${name}.bin`), bytes);
  console.log(`${name}.bin ${bytes.length} bytes`);
}
