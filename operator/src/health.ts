// The operator's health endpoints for the kubelet: /healthz (liveness: the process and its
// loops still turn) and /readyz (readiness: the API server answers it; leader and standby alike).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControllerState } from './controller.ts';
import type { ElectionState } from './leader.ts';

export interface OperatorState {
  election: ElectionState;
  /** The campaign controller, while this operator leads. */
  controller?: ControllerState;
}

export interface Check {
  ok: boolean;
  /** Why not, one line each; empty when ok. */
  problems: string[];
}

export interface HealthReport {
  live: Check;
  ready: Check;
  leader: boolean;
}

/** How long each wait may last before the process counts as stuck (a restart is the cure). */
export interface HealthLimits {
  /** One Lease request (default: twice the lease duration, at least 30 s). */
  leaseRequestMs?: number;
  /** Taking or giving up the lead: connecting Kafka, starting the informer, draining (5 min). */
  transitionMs?: number;
  /** One campaign's reconcile (5 min): every call in it fails fast. */
  reconcileMs?: number;
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;

/**
 * Liveness fails only on what a restart cures (a loop that stopped turning, a call that never
 * returns), never on an unreachable API server or Kafka: a restart would not bring those back.
 * Readiness follows the API server: ready once a Lease round got its answers within the lease duration.
 */
export function assessHealth(state: OperatorState, now: number, limits: HealthLimits = {}): HealthReport {
  const e = state.election;
  const leaseRequestMs = limits.leaseRequestMs ?? Math.max(30_000, 2 * e.leaseDurationMs);
  const transitionMs = limits.transitionMs ?? 300_000;
  const reconcileMs = limits.reconcileMs ?? 300_000;
  const live: string[] = [];
  if (e.startedAt === 0) live.push('leader election has not started');
  else if (e.busy) {
    const waited = now - e.busy.since;
    const limit = e.busy.what === 'lease' ? leaseRequestMs : transitionMs;
    if (waited > limit)
      live.push(
        e.busy.what === 'lease'
          ? `a Lease request has not returned for ${seconds(waited)}`
          : `taking or giving up the lead has not finished for ${seconds(waited)}`,
      );
  } else {
    // Between rounds the loop only waits for its timer.
    const idle = now - Math.max(e.lastRoundAt, e.startedAt);
    if (idle > e.retryPeriodMs + leaseRequestMs) live.push(`the leader-election loop has not run for ${seconds(idle)}`);
  }
  const c = state.controller;
  // While it takes the lead, the informer starts last.
  if (e.leading && c && e.busy?.what !== 'transition') {
    if (!c.running || !c.watching) live.push('leading, but the campaign informer is not watching');
    if (c.reconciling && now - c.reconciling.since > reconcileMs)
      live.push(`the reconcile of ${c.reconciling.key} has not returned for ${seconds(now - c.reconciling.since)}`);
  }

  const ready: string[] = [];
  if (e.lastAnsweredAt === 0) ready.push('the API server has not answered yet');
  // A leadership change holds the loop without saying anything about the API server.
  else if (e.busy?.what !== 'transition' && now - e.lastAnsweredAt > e.leaseDurationMs)
    ready.push(`the API server has not answered for ${seconds(now - e.lastAnsweredAt)}`);
  return {
    live: { ok: live.length === 0, problems: live },
    ready: { ok: ready.length === 0, problems: ready },
    leader: e.leading,
  };
}

export interface HealthServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** GET /healthz and /readyz: 200 or 503, with the report as JSON (no personal data: campaign keys at most). */
export async function startHealthServer(opts: {
  host: string;
  port: number;
  report: () => HealthReport;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method !== 'GET' || (path !== '/healthz' && path !== '/readyz')) {
      res.writeHead(404).end();
      return;
    }
    const report = opts.report();
    const check = path === '/healthz' ? report.live : report.ready;
    res
      .writeHead(check.ok ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: check.ok ? 'ok' : 'failing', leader: report.leader, problems: check.problems }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
