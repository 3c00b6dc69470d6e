// Feeds audit entries through the rules as they are appended and hands each alert to the
// caller (the operator turns them into Kubernetes Events and metrics). Hook it to a chain
// with `AuditChain.open(store, id, { onAppend: (e) => monitor.observe(e) })`.
import type { AuditEntry } from '../audit-entry.ts';
import { createAnomalyRules } from './registry.ts';
import type { AnomalyAlert, AnomalyRule } from './rule.ts';

export interface AnomalyMonitorOptions {
  /** Defaults to every registered rule with its defaults. */
  rules?: readonly AnomalyRule[];
  onAlert: (alert: AnomalyAlert) => void;
  /** A rule or onAlert that throws is reported here; the others keep running. */
  onError?: (err: unknown, rule: string) => void;
}

export class AnomalyMonitor {
  readonly rules: readonly AnomalyRule[];
  readonly #states: unknown[];

  constructor(private readonly options: AnomalyMonitorOptions) {
    this.rules = options.rules ?? createAnomalyRules();
    this.#states = this.rules.map((r) => r.initial());
  }

  /** Runs every rule on `entry`; returns (and reports through onAlert) the alerts it raised. */
  observe(entry: AuditEntry): AnomalyAlert[] {
    const raised: AnomalyAlert[] = [];
    this.rules.forEach((rule, i) => {
      try {
        const { state, alerts } = rule.step(this.#states[i], entry);
        this.#states[i] = state;
        raised.push(...alerts);
      } catch (err) {
        this.options.onError?.(err, rule.name);
      }
    });
    for (const alert of raised) {
      try {
        this.options.onAlert(alert);
      } catch (err) {
        this.options.onError?.(err, alert.rule);
      }
    }
    return raised;
  }
}
