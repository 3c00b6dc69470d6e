// Every anomaly rule, by name. To add one: a module with a factory, a line here, a test beside it.
import { bulkReadRule } from './bulk-read.ts';
import { decryptFailuresRule } from './decrypt-failures.ts';
import { offHoursAccessRule } from './off-hours-access.ts';
import type { AnomalyRule } from './rule.ts';
import { volumeSpikeRule } from './volume-spike.ts';

export const ANOMALY_RULES = {
  'volume-spike': volumeSpikeRule,
  'off-hours-access': offHoursAccessRule,
  'decrypt-failures': decryptFailuresRule,
  'bulk-read': bulkReadRule,
} as const;

export type AnomalyRuleName = keyof typeof ANOMALY_RULES;

/** Per rule: options to override its defaults, or false to leave it out. */
export type AnomalyRulesConfig = {
  [N in AnomalyRuleName]?: Parameters<(typeof ANOMALY_RULES)[N]>[0] | false;
};

export function createAnomalyRules(config: AnomalyRulesConfig = {}): AnomalyRule[] {
  const rules: AnomalyRule[] = [];
  for (const name of Object.keys(ANOMALY_RULES) as AnomalyRuleName[]) {
    const options = config[name];
    if (options === false) continue;
    const factory = ANOMALY_RULES[name] as (o?: object) => AnomalyRule;
    rules.push(factory(options));
  }
  return rules;
}
