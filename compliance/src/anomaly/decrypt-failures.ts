// Sealed records that will not open, again and again: a wrong or rotated key, tampered
// records, or traffic routed to the wrong campaign. Counted per campaign in a time window.
import type { AuditEntry } from '../audit-entry.ts';
import { alertFor, countIn, type AnomalyRule } from './rule.ts';
import { addToWindow, minutes, totalWeight, type Windows } from './window.ts';

export interface DecryptFailuresOptions {
  windowMs: number;
  /** Failed records (summed over `decrypt-batch` entries) within the window that raise an alert. */
  threshold: number;
}

export const DECRYPT_FAILURES_DEFAULTS: DecryptFailuresOptions = { windowMs: 10 * 60_000, threshold: 10 };

/** Subject: the campaign whose records fail to open. */
export function decryptFailuresRule(options: Partial<DecryptFailuresOptions> = {}): AnomalyRule<Windows> {
  const o = { ...DECRYPT_FAILURES_DEFAULTS, ...options };
  return {
    name: 'decrypt-failures',
    description: `${o.threshold}+ records failing to decrypt within ${minutes(o.windowMs)} for one campaign`,
    initial: () => new Map(),
    step(state: Windows, entry: AuditEntry) {
      const failed = entry.action === 'decrypt-batch' ? countIn(entry.details, 'failed') : 0;
      if (failed === 0) return { state, alerts: [] };
      const point = { at: Date.parse(entry.time), weight: failed };
      const { windows, fired } = addToWindow(
        state,
        entry.subject,
        point,
        o.windowMs,
        (ps) => totalWeight(ps) >= o.threshold,
      );
      const alerts = fired
        ? [
            alertFor(
              'decrypt-failures',
              'critical',
              entry,
              entry.subject,
              `${totalWeight(fired)} records failed to decrypt in ${fired.length} batches within ${minutes(o.windowMs)} (threshold ${o.threshold}): wrong key, tampered records or misrouted traffic`,
            ),
          ]
        : [];
      return { state: windows, alerts };
    },
  };
}
