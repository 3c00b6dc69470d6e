// Encodes a CarrierMessage by hand, sealing the recipient and body straight into the frame.
// protobufjs would build an object, two intermediate sealed buffers and a writer op list per
// message; this writes one buffer. The bytes are the same protobuf (see carrier-frame.test.ts).
import { carrierAadText, sealedLength, sealInto, type DataKey } from '@anshim/core';
import type { Channel, Priority } from '@anshim/proto';
import { varintSize, writeVarint } from './wire.ts';

export interface CarrierFrameFields {
  id: string;
  campaignId: string;
  channel: Channel;
  idempotencyKey: string;
  priority: Priority;
  expiresAtMs: number;
  attempt: number;
  templateCode: string;
  senderNumber: string;
}

// Field tags: (field number << 3) | wire type (0 varint, 2 length-delimited), from carrier.proto.
const ID = 0x0a;
const CAMPAIGN_ID = 0x12;
const CHANNEL = 0x18;
const SEALED_RECIPIENT = 0x22;
const SEALED_BODY = 0x2a;
const IDEMPOTENCY_KEY = 0x32;
const PRIORITY = 0x38;
const EXPIRES_AT_MS = 0x40;
const ATTEMPT = 0x48;
const TEMPLATE_CODE = 0x52;
const SENDER_NUMBER = 0x5a;
const KEY_ID = 0x62;

const stringFieldSize = (bytes: number): number => (bytes === 0 ? 0 : 1 + varintSize(bytes) + bytes);

function writeString(buf: Buffer, at: number, tag: number, value: string, bytes: number): number {
  if (bytes === 0) return at;
  buf[at++] = tag;
  at = writeVarint(buf, at, bytes);
  return at + buf.write(value, at, 'utf8');
}

function writeUint(buf: Buffer, at: number, tag: number, value: number): number {
  if (value === 0) return at;
  buf[at++] = tag;
  return writeVarint(buf, at, value);
}

function writeSealed(buf: Buffer, at: number, tag: number, key: DataKey, plaintext: Uint8Array, aad: string): number {
  buf[at++] = tag;
  at = writeVarint(buf, at, sealedLength(key, plaintext.length));
  return at + sealInto(key, plaintext, aad, buf, at);
}

/**
 * One CarrierMessage with `recipient` and `body` sealed under the carrier's transport key,
 * bound by AAD to this message (carrierAad). Zero values are left out, as proto3 does.
 */
export function encodeCarrierFrame(
  m: CarrierFrameFields,
  key: DataKey,
  recipient: Uint8Array,
  body: Uint8Array,
): Buffer {
  const idBytes = Buffer.byteLength(m.id);
  const campaignBytes = Buffer.byteLength(m.campaignId);
  const idempotencyBytes = Buffer.byteLength(m.idempotencyKey);
  const templateBytes = Buffer.byteLength(m.templateCode);
  const senderBytes = Buffer.byteLength(m.senderNumber);
  const keyIdBytes = Buffer.byteLength(key.id);
  const recipientFrame = sealedLength(key, recipient.length);
  const bodyFrame = sealedLength(key, body.length);
  const size =
    stringFieldSize(idBytes) +
    stringFieldSize(campaignBytes) +
    (m.channel ? 1 + varintSize(m.channel) : 0) +
    1 +
    varintSize(recipientFrame) +
    recipientFrame +
    1 +
    varintSize(bodyFrame) +
    bodyFrame +
    stringFieldSize(idempotencyBytes) +
    (m.priority ? 1 + varintSize(m.priority) : 0) +
    (m.expiresAtMs ? 1 + varintSize(m.expiresAtMs) : 0) +
    (m.attempt ? 1 + varintSize(m.attempt) : 0) +
    stringFieldSize(templateBytes) +
    stringFieldSize(senderBytes) +
    stringFieldSize(keyIdBytes);
  const buf = Buffer.allocUnsafe(size);
  let at = writeString(buf, 0, ID, m.id, idBytes);
  at = writeString(buf, at, CAMPAIGN_ID, m.campaignId, campaignBytes);
  at = writeUint(buf, at, CHANNEL, m.channel);
  at = writeSealed(buf, at, SEALED_RECIPIENT, key, recipient, carrierAadText(m.campaignId, m.id, 'recipient'));
  at = writeSealed(buf, at, SEALED_BODY, key, body, carrierAadText(m.campaignId, m.id, 'body'));
  at = writeString(buf, at, IDEMPOTENCY_KEY, m.idempotencyKey, idempotencyBytes);
  at = writeUint(buf, at, PRIORITY, m.priority);
  at = writeUint(buf, at, EXPIRES_AT_MS, m.expiresAtMs);
  at = writeUint(buf, at, ATTEMPT, m.attempt);
  at = writeString(buf, at, TEMPLATE_CODE, m.templateCode, templateBytes);
  at = writeString(buf, at, SENDER_NUMBER, m.senderNumber, senderBytes);
  at = writeString(buf, at, KEY_ID, key.id, keyIdBytes);
  if (at !== size) throw new Error(`carrier frame: wrote ${at} of ${size} bytes`);
  return buf;
}
