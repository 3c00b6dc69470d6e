import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryAt } from '../test-fixtures.ts';
import { kstTime, offHoursAccessRule } from './off-hours-access.ts';
import { detectAnomalies } from './rule.ts';

const read = (utc: string, actor = 'staff:u-7') =>
  entryAt(utc, { action: 'admin-read', actor, details: { resource: 'results' } });

test('reads at night, at weekends and on holidays in KST raise warnings with the KST time', () => {
  const rule = offHoursAccessRule({ holidays: ['2025-03-03'] });
  const alerts = detectAnomalies(
    [rule],
    [
      read('2025-03-04T14:30:00.000Z'), // Tue 23:30 KST
      read('2025-03-08T01:00:00.000Z'), // Sat 10:00 KST
      read('2025-03-03T02:00:00.000Z'), // Mon 11:00 KST, 삼일절
      read('2025-03-04T23:59:00.000Z'), // Wed 08:59 KST
    ],
  );
  assert.deepEqual(
    alerts.map((a) => a.reason),
    [
      'admin-read by staff:u-7 at 2025-03-04 23:30 KST, outside 09:00–18:00 KST',
      'admin-read by staff:u-7 at 2025-03-08 10:00 KST, a Saturday',
      'admin-read by staff:u-7 at 2025-03-03 11:00 KST, a public holiday',
      'admin-read by staff:u-7 at 2025-03-05 08:59 KST, outside 09:00–18:00 KST',
    ],
  );
  assert.ok(alerts.every((a) => a.rule === 'off-hours-access' && a.subject === 'ns.promo'));
});

test('no alert in business hours, for service accounts, or for worker decrypts at night', () => {
  const rule = offHoursAccessRule();
  const night = '2025-03-04T15:00:00.000Z'; // Wed 00:00 KST
  assert.deepEqual(
    detectAnomalies(
      [rule],
      [
        read('2025-03-04T00:00:00.000Z'), // Tue 09:00 KST
        read('2025-03-04T08:59:00.000Z'), // Tue 17:59 KST
        read(night, 'system:operator'),
        entryAt(night, { action: 'decrypt-batch', actor: 'staff:u-7', details: { opened: 500, failed: 0 } }),
      ],
    ),
    [],
  );
  assert.deepEqual(kstTime('2025-03-04T15:00:00.000Z'), { date: '2025-03-05', hour: 0, minute: 0, weekday: 3 });
});
