// The registry: one profile per carrier. Adding a carrier = adding a file and a line here.
import type { CarrierId } from '@anshim/core';
import { kakao } from './kakao.ts';
import { kt } from './kt.ts';
import { lguplus } from './lguplus.ts';
import type { CarrierProfileFactory } from './profile.ts';
import { push } from './push.ts';
import { rcs } from './rcs.ts';
import { skt } from './skt.ts';

export const CARRIER_PROFILES: Readonly<Record<CarrierId, CarrierProfileFactory>> = {
  skt,
  kt,
  lguplus,
  kakao,
  rcs,
  push,
};

export { kakaoMembershipOf, type KakaoMembership } from './kakao.ts';
export { mobileOperatorProfile } from './profile.ts';
export type { CarrierProfile, CarrierProfileFactory, KakaoAudience, OpenedMessage, ProfileOptions } from './profile.ts';
