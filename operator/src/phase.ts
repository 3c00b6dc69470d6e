import { type Phase } from '@anshim/api';

/** What the reconciler observed, reduced to what decides a campaign's phase. */
export interface PhaseFacts {
  /** Topic, data key and worker Deployment are in place. */
  provisioned: boolean;
  queued: number;
  lag: number;
  /** Messages with a final outcome (delivered, failed with a result, or dead-lettered). */
  final: number;
  /** The whole audience is on the topic (size reached, or the gateway said the upload ended). */
  ingestComplete: boolean;
  /** Transactional and alert campaigns stay open for the next OTP; they never complete on their own. */
  openEnded: boolean;
}

/** Pending → Provisioning → Sending ⇄ Draining → Completed; Completed, Destroyed and Failed only move by destruction. */
export function nextPhase(current: Phase | undefined, f: PhaseFacts): Phase {
  if (current === 'Completed' || current === 'Destroyed' || current === 'Failed') return current;
  if (!f.provisioned) return current && current !== 'Pending' ? current : 'Pending';
  if (f.queued === 0) return 'Provisioning';
  // An OTP or alert campaign stays open between messages: the gateway keeps accepting them.
  if (f.lag > 0 || f.openEnded) return 'Sending';
  if (f.final >= f.queued && f.ingestComplete && !f.openEnded) return 'Completed';
  return 'Draining';
}
