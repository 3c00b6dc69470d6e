// Mutual TLS: the simulator only talks to clients holding a certificate from its CA.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger, type DataKey } from '@anshim/core';
import { AckStatus } from '@anshim/proto';
import { LocalCa } from '@anshim/dev-platform';
import * as grpc from '@grpc/grpc-js';
import { simulatorTransportKey } from './keys.ts';
import { startCarrierSimulator, type CarrierSimulator } from './server.ts';
import { dialCarrier, sealForCarrier, submitBatches } from './testing.ts';

describe('carrier simulator: mutual TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anshim-sim-tls-'));
  let sim: CarrierSimulator;
  let key: DataKey;
  let ca: LocalCa;
  const clients: grpc.Client[] = [];

  before(async () => {
    ca = new LocalCa(join(dir, 'ca')).ensure();
    const server = ca.issue({
      name: 'skt',
      commonName: 'skt.sim',
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      usage: 'server',
    });
    key = simulatorTransportKey('skt', Buffer.alloc(32, 7));
    sim = await startCarrierSimulator({
      carrier: 'skt',
      transportKey: key,
      latencyMs: 0,
      logger: createLogger('simulator', { level: 'silent' }),
      tls: { ca: readFileSync(ca.cert), cert: readFileSync(server.cert), key: readFileSync(server.key) },
    });
  });

  after(async () => {
    for (const client of clients) client.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const dial = (credentials: grpc.ChannelCredentials) => {
    const client = dialCarrier(`localhost:${sim.port}`, credentials);
    clients.push(client);
    return client;
  };
  const oneMessage = () =>
    sealForCarrier(key, { id: `tls-${Math.random()}`, campaignId: 'cmp-tls', recipient: '01012345678', text: 'hi' });
  const outcome = (client: ReturnType<typeof dial>) =>
    submitBatches(client, [[oneMessage()]]).then(
      (responses) => responses[0]?.acks[0]?.status,
      (error: grpc.ServiceError) => error.code,
    );

  it('accepts a client with a certificate from the CA', async () => {
    const client = ca.issue({ name: 'worker', commonName: 'worker', usage: 'client' });
    const credentials = grpc.credentials.createSsl(
      readFileSync(ca.cert),
      readFileSync(client.key),
      readFileSync(client.cert),
    );
    assert.equal(await outcome(dial(credentials)), AckStatus.ACCEPTED);
  });

  it('refuses a client without a certificate', async () => {
    assert.equal(await outcome(dial(grpc.credentials.createSsl(readFileSync(ca.cert)))), grpc.status.UNAVAILABLE);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const other = new LocalCa(join(dir, 'other')).ensure();
    const client = other.issue({ name: 'intruder', commonName: 'intruder', usage: 'client' });
    const credentials = grpc.credentials.createSsl(
      readFileSync(ca.cert),
      readFileSync(client.key),
      readFileSync(client.cert),
    );
    assert.equal(await outcome(dial(credentials)), grpc.status.UNAVAILABLE);
  });

  it('refuses a plaintext client', async () => {
    assert.equal(await outcome(dial(grpc.credentials.createInsecure())), grpc.status.UNAVAILABLE);
  });
});
