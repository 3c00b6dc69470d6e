// App push: one channel; the recipient is whatever the app registered, so nothing to screen.
import { Channel } from '@anshim/proto';
import type { CarrierProfileFactory } from './profile.ts';

export const push: CarrierProfileFactory = () => ({
  id: 'push',
  channels: new Set([Channel.PUSH]),
  screen: () => undefined,
});
