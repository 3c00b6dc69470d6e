import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryAt } from '../test-fixtures.ts';
import { detectAnomalies } from './rule.ts';
import { median, volumeSpikeRule } from './volume-spike.ts';

const upload = (day: number, rows: number, sender = 'emart') =>
  entryAt(`2025-03-${String(day).padStart(2, '0')}T02:00:00.000Z`, {
    action: 'upload',
    subject: `ns.promo-${day}`,
    details: { sender, rows, bytes: rows * 40 },
  });

test('an upload far above the sender’s rolling median raises one warning naming the campaign', () => {
  const log = [upload(1, 2000), upload(2, 2400), upload(3, 1800), upload(4, 2100), upload(5, 25_000)];
  const alerts = detectAnomalies([volumeSpikeRule()], log);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.rule, 'volume-spike');
  assert.equal(alerts[0]!.subject, 'ns.promo-5');
  assert.equal(alerts[0]!.severity, 'warning');
  assert.match(alerts[0]!.reason, /25000 rows is 12\.2× the median \(2050\) of its last 4 uploads/);
});

test('no alert for ordinary growth, small senders, too little history, or another sender’s baseline', () => {
  const rule = volumeSpikeRule();
  assert.deepEqual(detectAnomalies([rule], [upload(1, 2000), upload(2, 2400), upload(3, 1800), upload(4, 9000)]), []);
  assert.deepEqual(detectAnomalies([rule], [upload(1, 10), upload(2, 12), upload(3, 9), upload(4, 900)]), []);
  assert.deepEqual(detectAnomalies([rule], [upload(1, 2000), upload(2, 2000), upload(3, 50_000)]), []);
  assert.deepEqual(
    detectAnomalies([rule], [upload(1, 100, 'a'), upload(2, 100, 'a'), upload(3, 100, 'a'), upload(4, 50_000, 'b')]),
    [],
  );
});

test('the rule is pure: stepping does not change the state it was given', () => {
  const rule = volumeSpikeRule();
  const s0 = rule.initial();
  const s1 = rule.step(s0, upload(1, 2000)).state;
  assert.equal(s0.size, 0);
  assert.deepEqual(s1.get('emart'), [2000]);
  assert.equal(median([3, 1, 2, 10]), 2.5);
});
