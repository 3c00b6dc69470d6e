// One interface for every anomaly rule. A rule is a pure reducer over audit entries: given its
// state and the next entry it returns the next state and any alerts, so the same rule runs
// live (AnomalyMonitor) and over a stored log (detectAnomalies) with identical results.
import type { AuditEntry } from '../audit-entry.ts';

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface AnomalyAlert {
  /** The rule's name (`volume-spike`, …): a metric label and an Event reason. */
  rule: string;
  severity: AlertSeverity;
  /** What the alert is about: a campaign id or an actor id (see each rule). */
  subject: string;
  /** One sentence with ids and counts for the Event message; never personal data. */
  reason: string;
  /** The time of the entry that raised it (ISO 8601). */
  at: string;
  /** The entry that raised it, for an auditor to find in the chain. */
  entry: { chain: string; seq: number };
}

export interface RuleStep<State> {
  state: State;
  alerts: AnomalyAlert[];
}

export interface AnomalyRule<State = unknown> {
  readonly name: string;
  readonly description: string;
  initial(): State;
  /** Pure: must not change `state`; returns the state after `entry`. */
  step(state: State, entry: AuditEntry): RuleStep<State>;
}

export function alertFor(
  rule: string,
  severity: AlertSeverity,
  entry: AuditEntry,
  subject: string,
  reason: string,
): AnomalyAlert {
  return { rule, severity, subject, reason, at: entry.time, entry: { chain: entry.chain, seq: entry.seq } };
}

/** A non-negative number from untrusted details (entries come from storage), else 0. */
export function countIn(details: AuditEntry['details'], field: string): number {
  const v = details[field];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/** Runs rules over a stored log, in order. */
export function detectAnomalies(rules: readonly AnomalyRule[], entries: Iterable<AuditEntry>): AnomalyAlert[] {
  const states = rules.map((r) => r.initial());
  const alerts: AnomalyAlert[] = [];
  for (const entry of entries)
    rules.forEach((rule, i) => {
      const next = rule.step(states[i], entry);
      states[i] = next.state;
      alerts.push(...next.alerts);
    });
  return alerts;
}
