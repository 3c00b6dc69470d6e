// The small interface every carrier profile implements (one module per carrier, like
// KEDA's scalers): which channels it carries and which final result it decides at the door.
import {
  FAST_MOBILE,
  LMS_MAX_BYTES,
  MMS_MAX_BYTES,
  SMS_MAX_BYTES,
  carrierByteLength,
  type CarrierId,
  type MobileNetworkOperator,
  type PortabilityDirectory,
} from '@anshim/core';
import { Channel, ResultCode } from '@anshim/proto';

/** A message as the carrier sees it after opening both frames. Lives only for one screen() call. */
export interface OpenedMessage {
  readonly channel: Channel;
  /** National digits, e.g. 01012345678 (a device token for push). */
  readonly recipient: string;
  readonly text: string;
  readonly templateCode: string;
}

export interface KakaoAudience {
  /** Share of numbers (by seeded hash) that have no KakaoTalk account. */
  notUserShare: number;
  /** Share of numbers that blocked the sending channel. */
  blockedShare: number;
}

export interface ProfileOptions {
  portability: PortabilityDirectory;
  kakaoTemplates: ReadonlySet<string>;
  kakaoAudience: KakaoAudience;
  seed: string;
}

export interface CarrierProfile {
  readonly id: CarrierId;
  readonly channels: ReadonlySet<Channel>;
  /**
   * The final result decided at acceptance (ported, too long, template mismatch …), or
   * undefined when the message goes on to delivery and its result is drawn later.
   */
  screen(message: OpenedMessage): ResultCode | undefined;
  /**
   * Screening results this carrier answers in the ack itself (REJECTED with the result)
   * instead of a later report: Kakao's send API reports non-users, blocks and template
   * mismatches synchronously, which is what lets the sender fall back to SMS at once.
   */
  readonly rejectsAtRequest?: ReadonlySet<ResultCode>;
}

export type CarrierProfileFactory = (options: ProfileOptions) => CarrierProfile;

const TEXT_LIMITS: Partial<Record<Channel, number>> = {
  [Channel.SMS]: SMS_MAX_BYTES,
  [Channel.LMS]: LMS_MAX_BYTES,
  [Channel.MMS]: MMS_MAX_BYTES,
};

/** Korean carriers limit SMS/LMS/MMS text by CP949 bytes, not characters. */
export function exceedsTextLimit(channel: Channel, text: string): boolean {
  const limit = TEXT_LIMITS[channel];
  // A string's UTF-16 length bounds its CP949 length from below by half; skip counting short ones.
  return limit !== undefined && text.length * 2 > limit && carrierByteLength(text) > limit;
}

/** SKT, KT and LG U+ behave alike: SMS/LMS/MMS, byte limits, numbers served by another operator are ported. */
export function mobileOperatorProfile(id: MobileNetworkOperator, { portability }: ProfileOptions): CarrierProfile {
  return {
    id,
    channels: new Set([Channel.SMS, Channel.LMS, Channel.MMS]),
    screen({ channel, recipient, text }) {
      if (!FAST_MOBILE.test(recipient)) return ResultCode.NO_SUCH_NUMBER;
      if (portability.operatorOf(recipient) !== id) return ResultCode.NUMBER_PORTED;
      if (exceedsTextLimit(channel, text)) return ResultCode.MESSAGE_TOO_LONG;
      return undefined;
    },
  };
}
