import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Channel, DeliveryReport, ResultCode } from '@anshim/proto';
import { reportId } from './report-id.ts';

const report = {
  messageId: 'rec-1',
  campaignId: 'ns.spring',
  channel: Channel.ALIMTALK,
  carrier: 'kakao',
  result: ResultCode.NOT_KAKAO_USER,
  idempotencyKey: 'ns.spring:rec-1',
  reportedAtMs: 1_795_515_845_800,
};

test('a redelivered copy of a report has its id; the fallback attempt of the same message has another', () => {
  const copy = DeliveryReport.decode(DeliveryReport.encode({ ...report, reportedAtMs: 1_795_515_999_000 }).finish());
  assert.equal(reportId(copy), reportId(report));
  const fallback = { ...report, channel: Channel.LMS, carrier: 'kt', idempotencyKey: 'ns.spring:rec-1#fallback1' };
  assert.notEqual(reportId(fallback), reportId(report));
  assert.equal(reportId(report), 'kakao/ns.spring:rec-1');
});

test('a report without carrier or key is refused, not given an id that could collide', () => {
  assert.throws(() => reportId({ carrier: 'skt', idempotencyKey: '' }), TypeError);
  assert.throws(() => reportId({ carrier: '', idempotencyKey: 'k' }), TypeError);
});
