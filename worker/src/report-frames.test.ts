import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, DeliveryReport, ReportBatch, ReportBatchRecord, ResultCode } from '@anshim/proto';
import { encodeReportBatchRecord, forEachReport, ReportFrameError, type ReportView } from './report-frames.ts';

const reports = [
  {
    messageId: 'r-1',
    campaignId: 'spring-sale',
    channel: Channel.ALIMTALK,
    carrier: 'kakao',
    result: ResultCode.NOT_KAKAO_USER,
    submittedAtMs: 1_795_515_845_772,
    reportedAtMs: 1_795_515_845_800,
    attempt: 2,
    idempotencyKey: 'spring-sale:r-1',
  },
  {
    messageId: 'r-1',
    campaignId: 'spring-sale',
    channel: Channel.LMS,
    carrier: 'lguplus',
    result: ResultCode.DELIVERED,
    submittedAtMs: 1_795_515_845_900,
    reportedAtMs: 1_795_515_846_000,
    attempt: 1,
    idempotencyKey: 'spring-sale:r-1#fallback1',
  },
  { messageId: 'r-2', campaignId: '봄-세일', channel: Channel.SMS, carrier: 'skt', result: ResultCode.HANDSET_OFF },
];

test('a carrier report batch is read field by field, each report kept as its own bytes', () => {
  const seen: ReportView[] = [];
  forEachReport(Buffer.from(ReportBatch.encode({ reports }).finish()), (r) => seen.push(r));
  assert.equal(seen.length, 3);
  assert.deepEqual(
    seen.map(({ campaignId, channel, carrier, result, fallbackStep }) => ({
      campaignId,
      channel,
      carrier,
      result,
      fallbackStep,
    })),
    [
      {
        campaignId: 'spring-sale',
        channel: Channel.ALIMTALK,
        carrier: 'kakao',
        result: ResultCode.NOT_KAKAO_USER,
        fallbackStep: 0,
      },
      {
        campaignId: 'spring-sale',
        channel: Channel.LMS,
        carrier: 'lguplus',
        result: ResultCode.DELIVERED,
        fallbackStep: 1,
      },
      { campaignId: '봄-세일', channel: Channel.SMS, carrier: 'skt', result: ResultCode.HANDSET_OFF, fallbackStep: 0 },
    ],
  );
  assert.deepEqual(
    DeliveryReport.toObject(DeliveryReport.decode(seen[1]!.bytes)),
    DeliveryReport.toObject(DeliveryReport.fromObject(reports[1]!)),
  );
});

test('the published ReportBatchRecord decodes as if protobufjs had written it', () => {
  const bytes = reports.map((r) => DeliveryReport.encode(r).finish());
  const encoded = encodeReportBatchRecord('worker-7', [
    { bytes: bytes[0]!, fallback: false, fallbackFromChannel: Channel.CHANNEL_UNSPECIFIED },
    { bytes: bytes[1]!, fallback: true, fallbackFromChannel: Channel.ALIMTALK },
    { bytes: bytes[2]!, fallback: true, fallbackFromChannel: Channel.CHANNEL_UNSPECIFIED },
  ]);
  const expected = ReportBatchRecord.encode({
    schemaVersion: 1,
    reports: [
      { schemaVersion: 1, report: reports[0], workerId: 'worker-7' },
      {
        schemaVersion: 1,
        report: reports[1],
        fallback: true,
        fallbackFromChannel: Channel.ALIMTALK,
        workerId: 'worker-7',
      },
      { schemaVersion: 1, report: reports[2], fallback: true, workerId: 'worker-7' },
    ],
  }).finish();
  assert.deepEqual(
    ReportBatchRecord.toObject(ReportBatchRecord.decode(encoded)),
    ReportBatchRecord.toObject(ReportBatchRecord.decode(expected)),
  );
});

test('a truncated or garbled batch is refused with ReportFrameError', () => {
  const good = Buffer.from(ReportBatch.encode({ reports }).finish());
  assert.throws(() => forEachReport(good.subarray(0, good.length - 3), () => undefined), ReportFrameError);
  assert.throws(() => forEachReport(Buffer.from([0x0a, 0x05, 0x0f]), () => undefined), ReportFrameError);
  assert.throws(() => forEachReport(Buffer.from([0x0f]), () => undefined), ReportFrameError);
});

test("an AckedReports batch gives its sequence and the same reports; a ReportBatches batch's sequence is 0", () => {
  const numbered: ReportView[] = [];
  const plain: ReportView[] = [];
  const sequence = forEachReport(Buffer.from(ReportBatch.encode({ reports, sequence: 300 }).finish()), (r) =>
    numbered.push(r),
  );
  assert.equal(sequence, 300);
  assert.equal(
    forEachReport(Buffer.from(ReportBatch.encode({ reports }).finish()), (r) => plain.push(r)),
    0,
  );
  assert.deepEqual(
    numbered.map((r) => Buffer.from(r.bytes)),
    plain.map((r) => Buffer.from(r.bytes)),
  );
});
