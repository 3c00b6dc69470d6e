// A tiny admin API on loopback for tests and the benchmark: ledger summaries, outages,
// throttles, and a campaign's message ids by result (ids only, never content).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isCarrierId, type CarrierId } from '@anshim/core';
import { ResultCode } from '@anshim/proto';
import type { CarrierSimulator } from './server.ts';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function ledgerSnapshot(simulators: ReadonlyMap<CarrierId, CarrierSimulator>): Record<string, unknown> {
  const carriers: Record<string, unknown> = {};
  for (const [id, sim] of simulators)
    carriers[id] = {
      ...sim.ledger.summary(),
      reportsBuffered: sim.reportsBuffered,
      reportsUnacknowledged: sim.reportsUnacknowledged,
    };
  return { carriers };
}

function route(simulators: ReadonlyMap<CarrierId, CarrierSimulator>, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://admin');
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && url.pathname === '/healthz') return json(res, 200, { ok: true });
  if (req.method === 'GET' && url.pathname === '/ledger') return json(res, 200, ledgerSnapshot(simulators));
  if (parts[0] !== 'carriers' || parts[1] === undefined) return json(res, 404, { error: 'not-found' });
  const id = parts[1];
  const sim = isCarrierId(id) ? simulators.get(id) : undefined;
  if (sim === undefined) return json(res, 404, { error: 'unknown-carrier' });

  if (req.method === 'POST' && parts[2] === 'outage' && parts.length === 3) {
    const on = url.searchParams.get('on');
    if (on !== '1' && on !== '0') return json(res, 400, { error: 'on must be 1 or 0' });
    sim.setOutage(on === '1');
    return json(res, 200, { carrier: id, outage: on === '1' });
  }
  if (req.method === 'POST' && parts[2] === 'throttle' && parts.length === 3) {
    const rate = Number(url.searchParams.get('rate'));
    if (!Number.isFinite(rate) || rate < 0) return json(res, 400, { error: 'rate must be a number >= 0' });
    sim.setThrottle(rate === 0 ? null : rate);
    return json(res, 200, { carrier: id, throttle: rate === 0 ? null : rate });
  }
  // GET /carriers/<id>/campaigns/<campaign>/messages?result=DELIVERED → one id per line
  if (req.method === 'GET' && parts[2] === 'campaigns' && parts[3] !== undefined && parts[4] === 'messages') {
    const name = url.searchParams.get('result');
    const result = name === null ? undefined : ResultCode[name as keyof typeof ResultCode];
    if (name !== null && typeof result !== 'number') return json(res, 400, { error: 'unknown result' });
    res.writeHead(200, { 'content-type': 'text/plain' });
    const ids = sim.ledger.messageIds(decodeURIComponent(parts[3]), result);
    let chunk: string[] = [];
    for (const messageId of ids) {
      chunk.push(messageId);
      if (chunk.length === 10_000) {
        res.write(chunk.join('\n') + '\n');
        chunk = [];
      }
    }
    res.end(chunk.length > 0 ? chunk.join('\n') + '\n' : '');
    return;
  }
  json(res, 404, { error: 'not-found' });
}

export function startAdminServer(
  simulators: ReadonlyMap<CarrierId, CarrierSimulator>,
  { host = '127.0.0.1', port = 0 }: { host?: string; port?: number } = {},
): Promise<AdminServer> {
  const server = createServer((req, res) => route(simulators, req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
