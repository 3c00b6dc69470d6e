// RCS business messaging: one channel; results come only from the configured failure rates.
import { CARRIER_CHANNELS } from '@anshim/core';
import type { CarrierProfileFactory } from './profile.ts';

export const rcs: CarrierProfileFactory = () => ({
  id: 'rcs',
  channels: new Set(CARRIER_CHANNELS.rcs),
  screen: () => undefined,
});
