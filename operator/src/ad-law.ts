import { type MessagingCampaign } from '@anshim/api';

export const AD_PREFIX = '(광고)';

export class AdvertisingBodyError extends Error {
  override readonly name = 'AdvertisingBodyError';
  readonly reason = 'AdvertisingBodyInvalid';
}

/**
 * The body an advertising campaign sends (정보통신망법 제50조): it starts with (광고) and the
 * sender's name, and carries the sender's contact and the free opt-out number. What the
 * template lacks is inserted from the spec; a body that hides the header is refused.
 */
export function advertisingBody(mc: MessagingCampaign): string {
  const { body } = mc.spec.template;
  if (mc.spec.purpose !== 'advertising') return body;
  const { name, callbackNumber, optOutNumber } = mc.spec.sender;
  if (!optOutNumber) throw new AdvertisingBodyError('an advertising campaign needs spec.sender.optOutNumber');
  const trimmed = body.trimStart();
  if (trimmed.includes(AD_PREFIX) && !trimmed.startsWith(AD_PREFIX)) {
    throw new AdvertisingBodyError(`${AD_PREFIX} must open the body, not appear inside it`);
  }
  let out = trimmed.startsWith(AD_PREFIX) ? trimmed : `${AD_PREFIX}${name} ${trimmed}`;
  if (!out.includes(name)) out = `${AD_PREFIX}${name} ${out.slice(AD_PREFIX.length).trimStart()}`;
  if (!out.replace(/-/g, '').includes(callbackNumber)) out += `\n문의 ${callbackNumber}`;
  if (!out.replace(/-/g, '').includes(optOutNumber)) out += `\n무료수신거부 ${optOutNumber}`;
  return out;
}
