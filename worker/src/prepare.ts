import {
  chooseTextChannel,
  directCarrierOf,
  EnvelopeError,
  InvalidPhoneError,
  isNightInKorea,
  nextMorningInKorea,
  optOutTag as optOutTag_,
  isCarrierId,
  KeyError,
  MessageTooLongError,
  normalizeKoreanPhone,
  open,
  recordAadText,
  type CarrierId,
  type DataKey,
  type KeyLookup,
  type PortabilityDirectory,
} from '@anshim/core';
import { CampaignRecord, Channel, RecipientPayload } from '@anshim/proto';
import { encodeCarrierFrame } from './carrier-frame.ts';
import type { CampaignSpec } from './campaign.ts';
import { renderTemplate, TemplateVariableError } from './render.ts';

/** Why a record cannot become a message; each reason is final (the record goes to the dead-letter topic). */
export type PrepareFailure =
  | 'malformed-record'
  | 'unknown-campaign'
  | 'unknown-key'
  | 'key-destroyed'
  | 'decrypt-failed'
  | 'invalid-phone'
  | 'template-variable-missing'
  | 'message-too-long'
  | 'processor-not-allowed'
  | 'no-carrier-key'
  | 'no-advertising-consent'
  | 'opt-out-list-unavailable';

export class PrepareError extends Error {
  override readonly name = 'PrepareError';
  constructor(
    readonly reason: PrepareFailure,
    detail: string,
  ) {
    super(detail);
  }
}

/** Not a failure: an advertisement without night consent waits until 08:00 KST (정보통신망법 제50조). */
export class HeldUntil extends Error {
  override readonly name = 'HeldUntil';
  constructor(readonly untilMs: number) {
    super(`held until ${new Date(untilMs).toISOString()} (night window without night consent)`);
  }
}

export interface PreparedMessage {
  recordId: string;
  campaignId: string;
  carrier: CarrierId;
  channel: Channel;
  idempotencyKey: string;
  /** When the gateway enqueued the record: the start of its produce-to-ack latency. */
  enqueuedAtMs: number;
  /** The encoded CarrierMessage, ready to be framed into a SubmitRequest. */
  frame: Uint8Array;
  /** Advertising only: the keyed hash the sender's opt-out list is checked against (never the number). */
  optOutTag?: string;
}

export interface PrepareContext {
  campaign: CampaignSpec;
  campaignKeys: KeyLookup;
  carrierKeys: Partial<Record<CarrierId, DataKey>>;
  portability: PortabilityDirectory;
  now: number;
  /** The fleet's opt-out list key; advertising fails closed without it. */
  optOutKey?: Uint8Array;
}

/** Primary attempts and each fallback step get their own idempotency key; retries of one step reuse it. */
export const idempotencyKeyFor = (campaignId: string, recordId: string, step: number): string =>
  step === 0 ? `${campaignId}:${recordId}` : `${campaignId}:${recordId}#fallback${step}`;

/**
 * Turns one sealed campaign record into a message sealed for its carrier: open with the
 * campaign key, validate the number, render, pick SMS/LMS by carrier byte count, route by
 * number portability, re-seal under the carrier's transport key. Plaintext never leaves
 * this function's stack.
 */
export function prepareMessage(value: Uint8Array, ctx: PrepareContext, step = 0): PreparedMessage {
  let record: CampaignRecord;
  try {
    record = CampaignRecord.decode(value);
  } catch {
    throw new PrepareError('malformed-record', 'not a CampaignRecord');
  }
  if (!record.recordId || record.campaignId !== ctx.campaign.id)
    throw new PrepareError('malformed-record', 'record id missing or campaign mismatch');

  let plaintext: Buffer;
  try {
    plaintext = open(ctx.campaignKeys, record.sealedRecipient, recordAadText(record.campaignId, record.recordId));
  } catch (err) {
    if (err instanceof EnvelopeError) {
      const reason =
        err.reason === 'unknown-key'
          ? 'unknown-key'
          : err.reason === 'key-destroyed'
            ? 'key-destroyed'
            : 'decrypt-failed';
      throw new PrepareError(reason, `recipient frame: ${err.reason}`);
    }
    if (err instanceof KeyError) throw new PrepareError('key-destroyed', 'campaign key unusable');
    throw err;
  }
  let recipient: RecipientPayload;
  try {
    recipient = RecipientPayload.decode(plaintext);
  } catch {
    throw new PrepareError('malformed-record', 'sealed payload is not a RecipientPayload');
  } finally {
    plaintext.fill(0);
  }

  let national: string;
  try {
    national = normalizeKoreanPhone(recipient.phone, { mobileOnly: true }).national;
  } catch (err) {
    if (err instanceof InvalidPhoneError) throw new PrepareError('invalid-phone', `phone: ${err.reason}`);
    throw err;
  }

  let optOutTag: string | undefined;
  if (ctx.campaign.purpose === 'advertising') {
    if (!recipient.consent?.advertising)
      throw new PrepareError('no-advertising-consent', 'advertising without the recipient’s prior consent');
    if (!ctx.optOutKey || !ctx.campaign.optOutNumber)
      throw new PrepareError('opt-out-list-unavailable', 'advertising needs the opt-out list key and line');
    if (step === 0 && isNightInKorea(ctx.now) && !recipient.consent.night)
      throw new HeldUntil(nextMorningInKorea(ctx.now));
    optOutTag = optOutTag_(ctx.optOutKey, ctx.campaign.optOutNumber, national);
  }

  let text: string;
  try {
    text = renderTemplate(ctx.campaign.template, recipient.name, recipient.vars);
  } catch (err) {
    if (err instanceof TemplateVariableError) throw new PrepareError('template-variable-missing', err.message);
    throw err;
  }

  const requested = step === 0 ? ctx.campaign.channel : ctx.campaign.fallback[step - 1];
  if (requested === undefined) throw new PrepareError('processor-not-allowed', `no fallback step ${step}`);
  let channel: Channel;
  let carrier: CarrierId;
  const direct = requested === 'TEXT' ? undefined : directCarrierOf(Channel[requested]);
  if (direct) {
    channel = Channel[requested as keyof typeof Channel];
    carrier = direct;
  } else {
    try {
      const chosen =
        requested === 'TEXT' || requested === 'SMS' ? chooseTextChannel(text) : requested === 'MMS' ? 'MMS' : 'LMS';
      channel = Channel[chosen];
    } catch (err) {
      if (err instanceof MessageTooLongError) throw new PrepareError('message-too-long', err.message);
      throw err;
    }
    carrier = ctx.portability.operatorOf(national);
  }
  if (!ctx.campaign.processors.includes(carrier) || !isCarrierId(carrier))
    throw new PrepareError('processor-not-allowed', `carrier ${carrier} is not a processor of this campaign`);
  const carrierKey = ctx.carrierKeys[carrier];
  if (!carrierKey) throw new PrepareError('no-carrier-key', `no transport key for ${carrier}`);

  const recordId = record.recordId;
  const campaignId = record.campaignId;
  const idempotencyKey = idempotencyKeyFor(campaignId, recordId, step);
  const frame = encodeCarrierFrame(
    {
      id: recordId,
      campaignId,
      channel,
      idempotencyKey,
      priority: record.priority,
      expiresAtMs: expiresAt(ctx.campaign, Number(record.enqueuedAtMs)),
      attempt: 1,
      templateCode: channel === Channel.ALIMTALK ? (ctx.campaign.templateCode ?? '') : '',
      senderNumber: ctx.campaign.senderNumber,
    },
    carrierKey,
    Buffer.from(national, 'utf8'),
    Buffer.from(text, 'utf8'),
  );
  return {
    recordId,
    campaignId,
    carrier,
    channel,
    idempotencyKey,
    enqueuedAtMs: Number(record.enqueuedAtMs),
    frame,
    optOutTag,
  };
}

/** When the carrier must give up on a message: its campaign's ttl from enqueueing, or notAfter, whichever is first (0 = never). */
export function expiresAt(campaign: Pick<CampaignSpec, 'ttlMs' | 'notAfterMs'>, enqueuedAtMs: number): number {
  const byTtl = campaign.ttlMs > 0 ? enqueuedAtMs + campaign.ttlMs : 0;
  const byDeadline = campaign.notAfterMs ?? 0;
  if (byTtl === 0) return byDeadline;
  return byDeadline === 0 ? byTtl : Math.min(byTtl, byDeadline);
}
