// RCS business messaging: one channel; results come only from the configured failure rates.
import { Channel } from '@anshim/proto';
import type { CarrierProfileFactory } from './profile.ts';

export const rcs: CarrierProfileFactory = () => ({
  id: 'rcs',
  channels: new Set([Channel.RCS]),
  screen: () => undefined,
});
