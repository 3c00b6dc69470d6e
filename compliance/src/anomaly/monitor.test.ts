import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditChain } from '../audit-chain.ts';
import { MemoryAuditStore } from '../memory-audit-store.ts';
import { AnomalyMonitor } from './monitor.ts';
import { ANOMALY_RULES, createAnomalyRules } from './registry.ts';
import type { AnomalyAlert, AnomalyRule } from './rule.ts';

test('the registry lists every rule; config overrides options or leaves a rule out', () => {
  assert.deepEqual(
    createAnomalyRules().map((r) => r.name),
    Object.keys(ANOMALY_RULES),
  );
  const rules = createAnomalyRules({ 'off-hours-access': false, 'bulk-read': { maxReads: 3 } });
  assert.deepEqual(
    rules.map((r) => r.name),
    ['volume-spike', 'decrypt-failures', 'bulk-read'],
  );
  assert.match(rules[2]!.description, /^3\+ admin reads/);
});

test('hooked to a chain, the monitor sees each appended entry and reports alerts; a failing rule does not stop the others', async () => {
  const alerts: AnomalyAlert[] = [];
  const errors: string[] = [];
  const broken: AnomalyRule = {
    name: 'broken',
    description: 'always throws',
    initial: () => null,
    step: () => {
      throw new Error('boom');
    },
  };
  const monitor = new AnomalyMonitor({
    rules: [broken, ...createAnomalyRules({ 'bulk-read': { maxReads: 3 } })],
    onAlert: (a) => alerts.push(a),
    onError: (_e, rule) => errors.push(rule),
  });
  let t = Date.parse('2025-03-04T14:00:00.000Z'); // 23:00 KST
  const chain = await AuditChain.open(new MemoryAuditStore(), 'gateway-0', {
    now: () => new Date((t += 1000)),
    onAppend: (e) => monitor.observe(e),
  });
  for (let i = 0; i < 3; i++)
    await chain.append({
      actor: 'staff:u-9',
      action: 'admin-read',
      subject: 'ns.promo',
      details: { resource: 'results' },
    });
  assert.deepEqual(
    alerts.map((a) => [a.rule, a.entry.seq]),
    [
      ['off-hours-access', 1],
      ['off-hours-access', 2],
      ['off-hours-access', 3],
      ['bulk-read', 3],
    ],
  );
  assert.deepEqual(errors, ['broken', 'broken', 'broken']);
});
