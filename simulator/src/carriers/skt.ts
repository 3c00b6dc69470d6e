// SK Telecom: SMS, LMS and MMS; numbers the portability directory places elsewhere are NUMBER_PORTED.
import { mobileOperatorProfile, type CarrierProfileFactory } from './profile.ts';

export const skt: CarrierProfileFactory = (options) => mobileOperatorProfile('skt', options);
