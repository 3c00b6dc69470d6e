// The runner end to end on the local stack: a tiny steady scenario through a platform of its own.
// Latency bounds are loosened on purpose (tests assert behaviour, never timings); what is
// asserted is that k6 wrote its summary, its thresholds held, and every accepted message
// reached the campaign's Kafka topic and was counted by the operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, stateDir } from '@anshim/dev-platform';
import type { Result } from './run.ts';

test('a tiny steady run passes its thresholds and its messages reach Kafka', { timeout: 150_000 }, () => {
  const out = join(stateDir(), 'loadtest', `it-${Date.now()}`);
  const run = spawnSync(
    process.execPath,
    [
      ...['--import', 'tsx', join(repoRoot, 'loadtest/src/run.ts'), 'steady'],
      ...['--rate', '10', '--duration', '5s', '--p95', '20000', '--p99', '30000', '--drain-timeout', '30s'],
      ...['--max-error-rate', '0.01'],
      ...['--out', out],
    ],
    { cwd: repoRoot, encoding: 'utf8', timeout: 140_000 },
  );
  assert.equal(run.status, 0, `runner failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
  assert.doesNotMatch(run.stdout, /010-?2\d{3}-?\d{4}/, 'k6 output must not contain phone numbers');

  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.ok(existsSync(result.summaryFile));
  assert.equal(result.figures.thresholdsPassed, true);
  assert.ok(result.figures.thresholds.length >= 4);
  // k6 starts rate × duration iterations or counts them dropped (no free VU when due, as on a
  // starved machine): the plan is kept either way; how many ran depends on the machine's speed.
  // One more may start on the closing boundary (seen: 43 + 8).
  const { requests, droppedIterations } = result.figures;
  const planned = requests + droppedIterations;
  assert.ok(planned === 50 || planned === 51, `${requests} requests + ${droppedIterations} dropped`);
  assert.ok(result.campaign, 'the runner read the campaign status');
  const accepted = Math.round(result.figures.requests * (1 - result.figures.errorRate));
  assert.ok(accepted >= 1, `only ${accepted} messages accepted`);
  assert.equal(result.campaign.counts?.queued, accepted, 'every accepted message is on the topic');
  assert.equal(result.campaign.counts?.sent, accepted, 'and went to a carrier');
});
