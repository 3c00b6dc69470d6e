// KT: SMS, LMS and MMS; numbers the portability directory places elsewhere are NUMBER_PORTED.
import { mobileOperatorProfile, type CarrierProfileFactory } from './profile.ts';

export const kt: CarrierProfileFactory = (options) => mobileOperatorProfile('kt', options);
