// Kakao: AlimTalk (registered templates only) and FriendTalk. Some numbers have no
// KakaoTalk account and some blocked the channel; a seeded hash picks them, so repeat
// runs (and a fallback test) see the same numbers fail.
import { CARRIER_CHANNELS, KAKAO_FALLBACK_RESULTS, KAKAO_MAX_CHARS } from '@anshim/core';
import { Channel, ResultCode } from '@anshim/proto';
import { hashToUnit } from '../random.ts';
import type { CarrierProfileFactory, KakaoAudience } from './profile.ts';

export type KakaoMembership = 'user' | 'not-user' | 'blocked';

export function kakaoMembershipOf(recipient: string, seed: string, audience: KakaoAudience): KakaoMembership {
  const u = hashToUnit(`${seed}|kakao`, recipient);
  if (u < audience.notUserShare) return 'not-user';
  if (u < audience.notUserShare + audience.blockedShare) return 'blocked';
  return 'user';
}

export const kakao: CarrierProfileFactory = ({ kakaoTemplates, kakaoAudience, seed }) => ({
  id: 'kakao',
  channels: new Set(CARRIER_CHANNELS.kakao),
  // The results the sender falls back on are the ones Kakao answers in the ack.
  rejectsAtRequest: KAKAO_FALLBACK_RESULTS,
  screen({ channel, recipient, text, templateCode }) {
    if (channel === Channel.ALIMTALK && !kakaoTemplates.has(templateCode)) return ResultCode.TEMPLATE_MISMATCH;
    const membership = kakaoMembershipOf(recipient, seed, kakaoAudience);
    if (membership === 'not-user') return ResultCode.NOT_KAKAO_USER;
    if (membership === 'blocked') return ResultCode.KAKAO_BLOCKED;
    if (text.length > KAKAO_MAX_CHARS && [...text].length > KAKAO_MAX_CHARS) return ResultCode.MESSAGE_TOO_LONG;
    return undefined;
  },
});
