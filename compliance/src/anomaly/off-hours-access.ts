// People reading or uploading recipient data at night, at weekends or on holidays, in Korean
// time (KST, UTC+9 all year: Korea has no daylight saving time).
import type { AuditEntry } from '../audit-entry.ts';
import { alertFor, type AnomalyRule } from './rule.ts';

export interface OffHoursOptions {
  /** Business hours in KST: from `startHour` (inclusive) to `endHour` (exclusive). */
  startHour: number;
  endHour: number;
  /** Working days, 0 = Sunday … 6 = Saturday. */
  workdays: readonly number[];
  /** Public holidays as KST dates, `YYYY-MM-DD`. */
  holidays: readonly string[];
  /** Which actions count as access (automated decrypts by workers run around the clock). */
  actions: readonly string[];
  /** Actors never flagged (service accounts), by prefix. */
  exemptActorPrefixes: readonly string[];
}

export const OFF_HOURS_DEFAULTS: OffHoursOptions = {
  startHour: 9,
  endHour: 18,
  workdays: [1, 2, 3, 4, 5],
  holidays: [],
  actions: ['admin-read', 'upload'],
  exemptActorPrefixes: ['system:'],
};

const KST_OFFSET_MS = 9 * 3600_000;
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export interface KstTime {
  date: string;
  hour: number;
  minute: number;
  weekday: number;
}

export function kstTime(iso: string): KstTime {
  const kst = new Date(Date.parse(iso) + KST_OFFSET_MS);
  return {
    date: kst.toISOString().slice(0, 10),
    hour: kst.getUTCHours(),
    minute: kst.getUTCMinutes(),
    weekday: kst.getUTCDay(),
  };
}

/** Subject: the campaign (or resource) accessed. Stateless. */
export function offHoursAccessRule(options: Partial<OffHoursOptions> = {}): AnomalyRule<null> {
  const o = { ...OFF_HOURS_DEFAULTS, ...options };
  const hours = `${String(o.startHour).padStart(2, '0')}:00–${String(o.endHour).padStart(2, '0')}:00 KST`;
  return {
    name: 'off-hours-access',
    description: `${o.actions.join(', ')} outside ${hours} on working days`,
    initial: () => null,
    step(state: null, entry: AuditEntry) {
      if (!o.actions.includes(entry.action) || o.exemptActorPrefixes.some((p) => entry.actor.startsWith(p)))
        return { state, alerts: [] };
      const t = kstTime(entry.time);
      const why = o.holidays.includes(t.date)
        ? 'a public holiday'
        : !o.workdays.includes(t.weekday)
          ? `a ${DAYS[t.weekday]}`
          : t.hour < o.startHour || t.hour >= o.endHour
            ? `outside ${hours}`
            : undefined;
      if (why === undefined) return { state, alerts: [] };
      const clock = `${t.date} ${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')} KST`;
      return {
        state,
        alerts: [
          alertFor(
            'off-hours-access',
            'warning',
            entry,
            entry.subject,
            `${entry.action} by ${entry.actor} at ${clock}, ${why}`,
          ),
        ],
      };
    },
  };
}
