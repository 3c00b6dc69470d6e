import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entriesEvery } from '../test-fixtures.ts';
import { bulkReadRule } from './bulk-read.ts';
import { detectAnomalies } from './rule.ts';

const reads = (actor: string, stepMs: number, count: number, records = 20) =>
  entriesEvery('2025-03-04T02:00:00.000Z', stepMs, count, {
    action: 'admin-read',
    actor,
    details: { resource: 'results', records },
  });

test('many reads, or many records, by one actor within the window raise a critical alert on that actor', () => {
  const byCount = detectAnomalies([bulkReadRule()], reads('staff:u-9', 2000, 40));
  assert.equal(byCount.length, 1);
  assert.equal(byCount[0]!.subject, 'staff:u-9');
  assert.equal(byCount[0]!.severity, 'critical');
  assert.match(byCount[0]!.reason, /made 30 admin reads returning 600 records within 5 min/);
  const byRecords = detectAnomalies([bulkReadRule()], reads('staff:u-9', 2000, 3, 5000));
  assert.equal(byRecords.length, 1);
  assert.match(byRecords[0]!.reason, /made 2 admin reads returning 10000 records/);
});

test('no alert for a steady reader, for many actors reading a little each, or for other actions', () => {
  const rule = bulkReadRule();
  assert.deepEqual(detectAnomalies([rule], reads('staff:u-9', 60_000, 60)), []);
  const team = Array.from({ length: 10 }, (_, i) => reads(`staff:u-${i}`, 1000, 10)).flat();
  assert.deepEqual(detectAnomalies([rule], team), []);
  assert.deepEqual(
    detectAnomalies([rule], entriesEvery('2025-03-04T02:00:00.000Z', 100, 100, { action: 'upload', details: {} })),
    [],
  );
});
