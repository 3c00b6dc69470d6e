// The small interface every carrier profile implements (one module per carrier, like
// KEDA's scalers): which channels it carries and which final result it decides at the door.
import {
  CARRIER_CHANNELS,
  FAST_MOBILE,
  exceedsTextLimit,
  type CarrierId,
  type MobileNetworkOperator,
  type PortabilityDirectory,
} from '@anshim/core';
import type { Channel } from '@anshim/proto';
import { ResultCode } from '@anshim/proto';

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

/** SKT, KT and LG U+ behave alike: SMS/LMS/MMS, byte limits, numbers served by another operator are ported. */
export function mobileOperatorProfile(id: MobileNetworkOperator, { portability }: ProfileOptions): CarrierProfile {
  return {
    id,
    channels: new Set(CARRIER_CHANNELS[id]),
    screen({ channel, recipient, text }) {
      if (!FAST_MOBILE.test(recipient)) return ResultCode.NO_SUCH_NUMBER;
      if (portability.operatorOf(recipient) !== id) return ResultCode.NUMBER_PORTED;
      if (exceedsTextLimit(channel, text)) return ResultCode.MESSAGE_TOO_LONG;
      return undefined;
    },
  };
}
