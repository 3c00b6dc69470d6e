// App push: one channel; the recipient is whatever the app registered, so nothing to screen.
import { CARRIER_CHANNELS } from '@anshim/core';
import type { CarrierProfileFactory } from './profile.ts';

export const push: CarrierProfileFactory = () => ({
  id: 'push',
  channels: new Set(CARRIER_CHANNELS.push),
  screen: () => undefined,
});
