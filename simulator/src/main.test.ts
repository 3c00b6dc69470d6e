// The standalone process: started as a child, driven through its ready line and admin API.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { AckStatus, type CarrierGatewayClient } from '@anshim/proto';
import type * as grpc from '@grpc/grpc-js';
import type { FleetReady } from './fleet.ts';
import { simulatorTransportKey } from './keys.ts';
import { dialCarrier, sealForCarrier, submitBatches } from './testing.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('simulator process', () => {
  const psk = randomBytes(32);
  let child: ChildProcess;
  let ready: FleetReady;
  let client: CarrierGatewayClient;
  let stderr = '';
  const admin = (path: string, method = 'GET') =>
    fetch(`http://127.0.0.1:${ready.admin.port}${path}`, { method }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  before(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--carriers', 'skt,kakao', '--seed', 'main-test'], {
      env: { ...process.env, ANSHIM_SIM_PSK_HEX: psk.toString('hex'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const [line] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(() => Promise.reject(new Error(`exited: ${stderr}`))),
    ])) as [string];
    ready = JSON.parse(line) as FleetReady;
    client = dialCarrier(`127.0.0.1:${ready.carriers.skt?.port}`);
  });

  after(() => {
    client?.close();
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });

  it('prints its ports, accepts with the derived key and shows it on /ledger', async () => {
    assert.ok(ready.carriers.skt?.port && ready.carriers.kakao?.port && ready.admin.port, JSON.stringify(ready));
    const key = simulatorTransportKey('skt', psk);
    assert.equal(ready.carriers.skt?.keyId, key.id);
    const m = sealForCarrier(key, { id: 'p-1', campaignId: 'cmp-proc', recipient: '01012345678', text: 'hi' });
    const [response] = await submitBatches(client, [[m]]);
    assert.equal(response?.acks[0]?.status, AckStatus.ACCEPTED);
    const { status, body } = await admin('/ledger');
    assert.equal(status, 200);
    const skt = (body.carriers as Record<string, { accepted: number; byCampaign: Record<string, unknown> }>).skt;
    assert.equal(skt?.accepted, 1);
    assert.ok(skt?.byCampaign['cmp-proc']);
  });

  it('switches an outage on and off through the admin API', async () => {
    assert.equal((await admin('/carriers/skt/outage?on=1', 'POST')).status, 200);
    const key = simulatorTransportKey('skt', psk);
    const m = sealForCarrier(key, { id: 'p-2', campaignId: 'cmp-proc', recipient: '01012345678', text: 'hi' });
    const code = await submitBatches(client, [[m]]).then(
      () => 0,
      (e: grpc.ServiceError) => e.code,
    );
    assert.equal(code, 14); // UNAVAILABLE
    assert.equal((await admin('/carriers/skt/outage?on=0', 'POST')).status, 200);
    assert.equal((await admin('/carriers/skt/throttle?rate=abc', 'POST')).status, 400);
    assert.equal((await admin('/carriers/nope/outage?on=1', 'POST')).status, 404);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = once(child, 'exit');
    process.kill(child.pid as number, 'SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
  });
});
