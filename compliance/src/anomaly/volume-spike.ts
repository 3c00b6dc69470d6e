// An upload far above what its sender usually sends: a leaked or mistaken list, or an account
// used by someone else. Baseline: the median rows of the sender's last uploads.
import type { AuditEntry } from '../audit-entry.ts';
import { alertFor, countIn, type AnomalyRule } from './rule.ts';

export interface VolumeSpikeOptions {
  /** Alert when rows > factor × the median of past uploads. */
  factor: number;
  /** How many past uploads make the rolling baseline. */
  history: number;
  /** No verdict before this many uploads of the sender. */
  minHistory: number;
  /** Uploads below this never alert (a sender going from 10 to 80 rows is no incident). */
  minRows: number;
}

export const VOLUME_SPIKE_DEFAULTS: VolumeSpikeOptions = { factor: 5, history: 10, minHistory: 3, minRows: 1000 };

type State = ReadonlyMap<string, readonly number[]>;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Subject: the campaign the upload is for. The sender is `details.sender` (else the actor). */
export function volumeSpikeRule(options: Partial<VolumeSpikeOptions> = {}): AnomalyRule<State> {
  const o = { ...VOLUME_SPIKE_DEFAULTS, ...options };
  return {
    name: 'volume-spike',
    description: `an upload above ${o.factor}× the median of the sender's last ${o.history} uploads`,
    initial: () => new Map(),
    step(state: State, entry: AuditEntry) {
      if (entry.action !== 'upload') return { state, alerts: [] };
      const sender = typeof entry.details.sender === 'string' ? entry.details.sender : entry.actor;
      const rows = countIn(entry.details, 'rows');
      const past = state.get(sender) ?? [];
      const baseline = median(past);
      const alerts =
        past.length >= o.minHistory && rows >= o.minRows && rows > o.factor * baseline
          ? [
              alertFor(
                'volume-spike',
                'warning',
                entry,
                entry.subject,
                `upload by ${sender} of ${rows} rows is ${baseline > 0 ? `${(rows / baseline).toFixed(1)}×` : 'far above'} the median (${baseline}) of its last ${past.length} uploads`,
              ),
            ]
          : [];
      const next = new Map(state);
      next.set(sender, [...past, rows].slice(-o.history));
      return { state: next, alerts };
    },
  };
}
