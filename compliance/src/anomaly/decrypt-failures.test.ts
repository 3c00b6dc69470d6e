import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entriesEvery } from '../test-fixtures.ts';
import { decryptFailuresRule } from './decrypt-failures.ts';
import { detectAnomalies } from './rule.ts';

const batches = (start: string, stepMs: number, count: number, failed: number, subject = 'ns.promo') =>
  entriesEvery(start, stepMs, count, {
    action: 'decrypt-batch',
    actor: 'system:worker-1',
    subject,
    details: { opened: 500 - failed, failed },
  });

test('repeated failures within the window raise one critical alert per burst', () => {
  const log = batches('2025-03-04T01:00:00.000Z', 60_000, 8, 2); // 16 failures in 8 minutes
  const alerts = detectAnomalies([decryptFailuresRule()], log);
  assert.equal(alerts.length, 1, 'quiet for a window after alerting');
  assert.equal(alerts[0]!.severity, 'critical');
  assert.equal(alerts[0]!.subject, 'ns.promo');
  assert.equal(alerts[0]!.entry.seq, log[4]!.seq, 'fires on the batch that reaches 10');
  assert.match(alerts[0]!.reason, /^10 records failed to decrypt in 5 batches within 10 min/);
  const later = batches('2025-03-04T02:00:00.000Z', 60_000, 5, 2);
  assert.equal(detectAnomalies([decryptFailuresRule()], [...log, ...later]).length, 2, 'a new burst alerts again');
});

test('no alert when failures are spread beyond the window, split across campaigns, or absent', () => {
  const rule = decryptFailuresRule();
  assert.deepEqual(detectAnomalies([rule], batches('2025-03-04T01:00:00.000Z', 3 * 60_000, 10, 2)), []);
  assert.deepEqual(
    detectAnomalies(
      [rule],
      [
        ...batches('2025-03-04T01:00:00.000Z', 1000, 3, 3, 'ns.a'),
        ...batches('2025-03-04T01:00:00.000Z', 1000, 3, 3, 'ns.b'),
      ],
    ),
    [],
  );
  assert.deepEqual(detectAnomalies([rule], batches('2025-03-04T01:00:00.000Z', 1000, 50, 0)), []);
});
