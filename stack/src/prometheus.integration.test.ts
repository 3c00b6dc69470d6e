import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { isAlive } from './processes.ts';
import { startPrometheus } from './prometheus.ts';

// Smoke test: the Prometheus a test starts is real — it scrapes a target and answers PromQL.
test('prometheus: scrapes a /metrics endpoint and answers /api/v1/query', { timeout: 120_000 }, async () => {
  let scrapes = 0;
  const target = createServer((req, res) => {
    scrapes++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE anshim_smoke_total counter\nanshim_smoke_total{campaign="c1"} ${scrapes}\n`);
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const prom = await startPrometheus({
    targets: [`127.0.0.1:${(target.address() as AddressInfo).port}`],
    name: 'smoke',
  });
  try {
    const [sample] = await prom.waitFor('anshim_smoke_total{campaign="c1"}');
    assert.ok(Number(sample?.value[1]) >= 1);
    const [t] = await prom.targets();
    assert.equal(t?.health, 'up');
  } finally {
    await prom.stop();
    target.close();
  }
  assert.equal(isAlive(prom.pid), false, 'stopped by pid');
  assert.equal(existsSync(prom.dir), false, 'its data dir is gone');
});
