import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figuresFrom } from './summary.ts';

test('figures read k6 export thresholds as crossed = failed', () => {
  const f = figuresFrom(
    {
      metrics: {
        http_reqs: { count: 100, rate: 20 },
        http_req_duration: { med: 3, 'p(95)': 8, 'p(99)': 12, thresholds: { 'p(95)<250': false } },
        http_req_failed: { value: 0, thresholds: { 'rate<0.01': false } },
        checks: { value: 1, thresholds: { 'rate>0.99': true } },
      },
    },
    'http_req_duration',
  );
  assert.equal(f.requestsPerSecond, 20);
  assert.deepEqual(f.latencyMs, { metric: 'http_req_duration', p50: 3, p95: 8, p99: 12 });
  assert.equal(f.thresholdsPassed, false);
  assert.deepEqual(
    f.thresholds.filter((t) => !t.passed).map((t) => t.metric),
    ['checks'],
  );
});
