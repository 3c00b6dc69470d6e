// Many administrative reads by one actor in a short time: scraping the masked lists or
// results, the nearest thing to an export the platform allows (it has no download by design).
import type { AuditEntry } from '../audit-entry.ts';
import { alertFor, countIn, type AnomalyRule } from './rule.ts';
import { addToWindow, minutes, totalWeight, type Windows } from './window.ts';

export interface BulkReadOptions {
  windowMs: number;
  /** Reads within the window that raise an alert. */
  maxReads: number;
  /** Records returned (summed `details.records`) within the window that raise an alert. */
  maxRecords: number;
}

export const BULK_READ_DEFAULTS: BulkReadOptions = { windowMs: 5 * 60_000, maxReads: 30, maxRecords: 10_000 };

/** Subject: the actor doing the reading. */
export function bulkReadRule(options: Partial<BulkReadOptions> = {}): AnomalyRule<Windows> {
  const o = { ...BULK_READ_DEFAULTS, ...options };
  return {
    name: 'bulk-read',
    description: `${o.maxReads}+ admin reads or ${o.maxRecords}+ records read by one actor within ${minutes(o.windowMs)}`,
    initial: () => new Map(),
    step(state: Windows, entry: AuditEntry) {
      if (entry.action !== 'admin-read') return { state, alerts: [] };
      const point = { at: Date.parse(entry.time), weight: countIn(entry.details, 'records') };
      const { windows, fired } = addToWindow(
        state,
        entry.actor,
        point,
        o.windowMs,
        (ps) => ps.length >= o.maxReads || totalWeight(ps) >= o.maxRecords,
      );
      const alerts = fired
        ? [
            alertFor(
              'bulk-read',
              'critical',
              entry,
              entry.actor,
              `${entry.actor} made ${fired.length} admin reads returning ${totalWeight(fired)} records within ${minutes(o.windowMs)} (limits ${o.maxReads} reads, ${o.maxRecords} records)`,
            ),
          ]
        : [];
      return { state: windows, alerts };
    },
  };
}
