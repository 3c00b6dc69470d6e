import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assessHealth, startHealthServer, type HealthReport, type OperatorState } from './health.ts';
import type { ElectionState } from './leader.ts';

const T = 1_000_000;
const election = (over: Partial<ElectionState> = {}): ElectionState => ({
  leading: false,
  startedAt: T - 60_000,
  lastRoundAt: T - 1_000,
  lastAnsweredAt: T - 1_000,
  retryPeriodMs: 2_000,
  leaseDurationMs: 15_000,
  ...over,
});
const watching = { running: true, watching: true };
const assess = (state: OperatorState, now = T) => assessHealth(state, now);

test('a standby and a leader that the API server answers are both live and ready', () => {
  const standby = assess({ election: election() });
  assert.deepEqual(standby, { live: { ok: true, problems: [] }, ready: { ok: true, problems: [] }, leader: false });
  const leader = assess({ election: election({ leading: true }), controller: watching });
  assert.equal(leader.live.ok && leader.ready.ok, true);
  assert.equal(leader.leader, true);
});

test('an unreachable API server fails readiness, not liveness: a restart would not bring it back', () => {
  // The loop still runs its rounds (each fails fast), but nothing has answered for 20 s.
  const h = assess({ election: election({ lastRoundAt: T - 500, lastAnsweredAt: T - 20_000 }) });
  assert.equal(h.live.ok, true);
  assert.deepEqual(h.ready, { ok: false, problems: ['the API server has not answered for 20s'] });
  const never = assess({ election: election({ lastAnsweredAt: 0 }) });
  assert.deepEqual(never.ready.problems, ['the API server has not answered yet']);
});

test('a loop that stopped turning, or a call that never returns, fails liveness', () => {
  assert.deepEqual(assess({ election: election({ startedAt: 0, lastRoundAt: 0 }) }).live.problems, [
    'leader election has not started',
  ]);
  assert.deepEqual(assess({ election: election({ lastRoundAt: T - 40_000 }) }).live.problems, [
    'the leader-election loop has not run for 40s',
  ]);
  const hung = assess({ election: election({ busy: { what: 'lease', since: T - 31_000 } }) });
  assert.deepEqual(hung.live.problems, ['a Lease request has not returned for 31s']);
  // Within the limit a slow request is only a slow request.
  assert.equal(assess({ election: election({ busy: { what: 'lease', since: T - 29_000 } }) }).live.ok, true);
  const stuck = assess({
    election: election({ leading: true }),
    controller: { ...watching, reconciling: { key: 'shop/promo', since: T - 301_000 } },
  });
  assert.deepEqual(stuck.live.problems, ['the reconcile of shop/promo has not returned for 301s']);
  const blind = assess({ election: election({ leading: true }), controller: { running: true, watching: false } });
  assert.deepEqual(blind.live.problems, ['leading, but the campaign informer is not watching']);
});

test('taking the lead may take minutes (Kafka down): live and ready meanwhile, stuck after five', () => {
  const taking = (since: number) =>
    assess({
      election: election({ leading: true, lastAnsweredAt: since, busy: { what: 'transition', since } }),
      // The informer starts last.
      controller: { running: false, watching: false },
    });
  const slow = taking(T - 90_000);
  assert.equal(slow.live.ok, true, slow.live.problems.join());
  assert.equal(slow.ready.ok, true, slow.ready.problems.join());
  assert.deepEqual(taking(T - 301_000).live.problems, ['taking or giving up the lead has not finished for 301s']);
});

test('/healthz and /readyz answer 200 or 503 with the problems; anything else is 404', async () => {
  let report: HealthReport = {
    live: { ok: true, problems: [] },
    ready: { ok: false, problems: ['the API server has not answered yet'] },
    leader: false,
  };
  const server = await startHealthServer({ host: '127.0.0.1', port: 0, report: () => report });
  try {
    const get = async (path: string, method = 'GET') => {
      const res = await fetch(`${server.url}${path}`, { method });
      return { status: res.status, body: res.status === 404 ? undefined : ((await res.json()) as unknown) };
    };
    assert.deepEqual(await get('/healthz'), { status: 200, body: { status: 'ok', leader: false, problems: [] } });
    assert.deepEqual(await get('/readyz?verbose'), {
      status: 503,
      body: { status: 'failing', leader: false, problems: ['the API server has not answered yet'] },
    });
    report = { ...report, ready: { ok: true, problems: [] }, leader: true };
    assert.equal((await get('/readyz')).status, 200);
    assert.equal((await get('/metrics')).status, 404);
    assert.equal((await get('/healthz', 'POST')).status, 404);
  } finally {
    await server.close();
  }
});
