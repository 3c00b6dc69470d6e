import { test } from 'node:test';
import assert from 'node:assert/strict';
import { carrierAad, carrierKeyFromFleetSecret, open } from '@anshim/core';
import { CarrierMessage, Channel, Priority } from '@anshim/proto';
import { encodeCarrierFrame, type CarrierFrameFields } from './carrier-frame.ts';

const key = carrierKeyFromFleetSecret('skt', Buffer.alloc(32, 3));

const fields: CarrierFrameFields = {
  id: 'r-42',
  campaignId: 'spring-sale',
  channel: Channel.LMS,
  idempotencyKey: 'spring-sale:r-42#fallback1',
  priority: Priority.TRANSACTIONAL,
  expiresAtMs: 1_795_515_845_772,
  attempt: 3,
  templateCode: 'ORDER_SHIPPED',
  senderNumber: '15881234',
};

test('a hand-encoded frame decodes with protobufjs to the same fields', () => {
  const recipient = Buffer.from('01012345678');
  const body = Buffer.from('홍길동님, 주문하신 상품이 발송되었습니다 '.repeat(5));
  const frame = encodeCarrierFrame(fields, key, recipient, body);
  const m = CarrierMessage.decode(frame);
  assert.equal(m.id, fields.id);
  assert.equal(m.campaignId, fields.campaignId);
  assert.equal(m.channel, fields.channel);
  assert.equal(m.idempotencyKey, fields.idempotencyKey);
  assert.equal(m.priority, fields.priority);
  assert.equal(Number(m.expiresAtMs), fields.expiresAtMs);
  assert.equal(m.attempt, fields.attempt);
  assert.equal(m.templateCode, fields.templateCode);
  assert.equal(m.senderNumber, fields.senderNumber);
  assert.equal(m.keyId, key.id);
  assert.deepEqual(open(key, m.sealedRecipient, carrierAad(fields.campaignId, fields.id, 'recipient')), recipient);
  assert.deepEqual(open(key, m.sealedBody, carrierAad(fields.campaignId, fields.id, 'body')), body);
});

test('the recipient and body frames are bound to their part and message', () => {
  const m = CarrierMessage.decode(encodeCarrierFrame(fields, key, Buffer.from('01012345678'), Buffer.from('hi')));
  assert.throws(() => open(key, m.sealedRecipient, carrierAad(fields.campaignId, fields.id, 'body')), /auth-failed/);
  assert.throws(() => open(key, m.sealedBody, carrierAad(fields.campaignId, 'r-43', 'body')), /auth-failed/);
});

test('zero values are left out, as proto3 encodes them', () => {
  const plain = {
    ...fields,
    priority: 0,
    expiresAtMs: 0,
    attempt: 0,
    templateCode: '',
    channel: 0,
  } as CarrierFrameFields;
  const frame = encodeCarrierFrame(plain, key, Buffer.from('01012345678'), Buffer.from('hi'));
  const m = CarrierMessage.decode(frame);
  assert.equal(m.templateCode, '');
  assert.equal(Number(m.expiresAtMs), 0);
  const viaProtobufjs = CarrierMessage.encode({ ...m }).finish();
  assert.equal(frame.length, viaProtobufjs.length);
});
