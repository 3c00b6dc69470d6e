// Decodes the captured v1 encodings with today's schema: adding fields must never break
// reading what v1 writers produced.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
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
} from './index.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/v1/${name}.bin`, import.meta.url));
const seq = (n: number, from = 0) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff));

test('v1 CampaignRecord', () => {
  const r = CampaignRecord.decode(fixture('campaign-record'));
  assert.equal(r.schemaVersion, 1);
  assert.equal(r.recordId, 'rec-0001');
  assert.equal(r.campaignId, 'cmp-2024-weekly');
  assert.equal(r.keyId, 'dk-cmp-2024-weekly-1');
  assert.deepEqual(Buffer.from(r.sealedRecipient), seq(40));
  assert.equal(r.priority, Priority.BULK);
  assert.equal(r.enqueuedAtMs, 1_717_999_000_000);
  assert.equal(r.notBeforeMs, 1_718_060_400_000);
  assert.equal(typeof r.notBeforeMs, 'number');
});

test('v1 RecipientPayload', () => {
  const r = RecipientPayload.decode(fixture('recipient-payload'));
  assert.equal(r.phone, '01099990001');
  assert.equal(r.name, '테스트');
  assert.deepEqual({ ...r.vars }, { store: '안심마트 강남점', coupon: 'A-1004' });
  assert.ok(r.consent);
  assert.equal(r.consent.advertising, true);
  assert.equal(r.consent.night, false);
  assert.equal(r.consent.consentedAtMs, 1_700_000_000_000);
});

const expectedReport = {
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

test('v1 ReportRecord', () => {
  const r = ReportRecord.decode(fixture('report-record'));
  assert.equal(r.schemaVersion, 1);
  assert.deepEqual(DeliveryReport.toObject(DeliveryReport.fromObject(r.report ?? {})), expectedReport);
  assert.equal(r.fallback, true);
  assert.equal(r.fallbackFromChannel, Channel.ALIMTALK);
  assert.equal(r.workerId, 'worker-7f9c-0');
});

test('v1 DeliveryReport', () => {
  assert.deepEqual(DeliveryReport.toObject(DeliveryReport.decode(fixture('delivery-report'))), expectedReport);
});

test('v1 ReportBatch from AckedReports', () => {
  const batch = ReportBatch.decode(fixture('report-batch'));
  assert.equal(batch.sequence, 7);
  assert.deepEqual(
    batch.reports.map((r) => DeliveryReport.toObject(r as DeliveryReport)),
    [expectedReport],
  );
});

test('v1 ReportsAck', () => {
  const ack = ReportsAck.decode(fixture('reports-ack'));
  assert.deepEqual(ack.subscribe?.campaignIds, ['cmp-2024-weekly']);
  assert.deepEqual(ack.sequences, [6, 7]);
});

test('v1 DeadLetter', () => {
  const r = DeadLetter.decode(fixture('dead-letter'));
  assert.equal(r.recordId, 'rec-0002');
  assert.equal(r.campaignId, 'cmp-2024-weekly');
  assert.equal(r.reason, 'unknown-key');
  assert.equal(r.detail, 'data key dk-old not in keyring');
  assert.deepEqual(Buffer.from(r.original), seq(24, 100));
  assert.equal(r.attempts, 5);
  assert.equal(r.failedAtMs, 1_718_000_002_000);
});

test('v1 CarrierMessage', () => {
  const m = CarrierMessage.decode(fixture('carrier-message'));
  assert.equal(m.id, 'msg-0001');
  assert.equal(m.campaignId, 'cmp-2024-weekly');
  assert.equal(m.channel, Channel.ALIMTALK);
  assert.deepEqual(Buffer.from(m.sealedRecipient), seq(32));
  assert.deepEqual(Buffer.from(m.sealedBody), seq(48, 200));
  assert.equal(m.idempotencyKey, 'cmp-2024-weekly:rec-0001:alimtalk');
  assert.equal(m.priority, Priority.TRANSACTIONAL);
  assert.equal(m.expiresAtMs, 1_718_003_600_000);
  assert.equal(m.attempt, 1);
  assert.equal(m.templateCode, 'ORDER_SHIPPED_V2');
  assert.equal(m.senderNumber, '15880000');
  assert.equal(m.keyId, 'tk-kakao-1');
});

test('v1 SubmitResponse', () => {
  const { acks } = SubmitResponse.decode(fixture('submit-response'));
  assert.equal(acks.length, 2);
  assert.equal(acks[0]?.messageId, 'msg-0001');
  assert.equal(acks[0]?.status, AckStatus.ACCEPTED);
  assert.equal(acks[1]?.status, AckStatus.THROTTLED);
  assert.equal(acks[1]?.result, ResultCode.THROTTLED);
  assert.equal(acks[1]?.retryAfterMs, 250);
  assert.equal(acks[1]?.detail, 'tps limit');
});

test('v1 ProgressRecord', () => {
  const r = ProgressRecord.decode(fixture('progress-record'));
  assert.equal(r.schemaVersion, 1);
  assert.equal(r.campaignId, 'cmp-2024-weekly');
  assert.equal(r.workerId, 'worker-7f9c-0');
  assert.equal(r.sent, 1_204);
  assert.equal(typeof r.sent, 'number');
  assert.equal(r.duplicates, 3);
  assert.deepEqual({ ...r.results }, { DELIVERED: 1_150, HANDSET_OFF: 12 });
  assert.equal(r.fellBack, 40);
  assert.deepEqual({ ...r.deadLettered }, { 'invalid-number': 2 });
  assert.equal(r.held, 7);
  assert.equal(r.updatedAtMs, 1_718_000_003_000);
});

test('unknown fields from a newer writer are skipped, known ones still read', () => {
  // Simulates a v2 writer appending field 99 (varint) to a v1 CampaignRecord.
  const v2 = Buffer.concat([fixture('campaign-record'), Buffer.from([0x98, 0x06, 0x2a])]);
  const r = CampaignRecord.decode(v2);
  assert.equal(r.recordId, 'rec-0001');
  assert.equal(r.notBeforeMs, 1_718_060_400_000);
});

test('trace_parent appended to an encoded v1 CarrierMessage reads back with every v1 field; v1 reports read as untraced', () => {
  // How a worker adds it: the encoded field, after the message's own bytes.
  const traceParent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const traced = Buffer.concat([fixture('carrier-message'), CarrierMessage.encode({ traceParent }).finish()]);
  const m = CarrierMessage.decode(traced);
  assert.equal(m.traceParent, traceParent);
  assert.equal(m.id, 'msg-0001');
  assert.equal(m.keyId, 'tk-kakao-1');
  assert.equal(CarrierMessage.decode(fixture('carrier-message')).traceParent, '');
  assert.equal(DeliveryReport.decode(fixture('delivery-report')).traceParent, '');
});
