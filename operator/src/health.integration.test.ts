// The operator's /healthz and /readyz against the real API server, with two operator processes
// (leader and standby) reaching it through a TCP relay the test can cut: readiness follows the
// API server, liveness does not (a restart would not bring the API server back).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  freePort,
  requireStack,
  createNamespace,
  eventually,
  installCrds,
  kubectl,
  startOperator,
  testKek,
  type OperatorProcess,
} from '@anshim/dev-platform';

/** A TCP relay to the API server that can be cut (connections refused and dropped) and restored. */
class ApiRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const kek = testKek();
const operators: OperatorProcess[] = [];
const healthUrls: string[] = [];
let relay: ApiRelay;
let ns: string;

before(async () => {
  installCrds();
  ns = createNamespace('op-health');
  const stack = requireStack();
  const admin = readFileSync(stack.kubeconfig, 'utf8');
  const api = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(admin);
  assert.ok(api, 'the stack kubeconfig names its API server');
  relay = new ApiRelay(await freePort(), { host: '127.0.0.1', port: Number(api[1]) });
  await relay.open();
  // The API server's certificate names 127.0.0.1, so TLS holds through the relay.
  const kubeconfig = join(kek.dir, 'kubeconfig-relay');
  writeFileSync(kubeconfig, admin.replace(api[0], `server: https://127.0.0.1:${relay.port}`), { mode: 0o600 });
  for (const identity of ['op-health-a', 'op-health-b']) {
    const port = await freePort();
    healthUrls.push(`http://127.0.0.1:${port}`);
    operators.push(
      startOperator(identity, ns, kek, { kubeconfig, leaseSeconds: 3, args: ['--health-port', String(port)] }),
    );
  }
});

after(async () => {
  await relay?.cut();
  for (const o of operators) if (o.child.exitCode === null) o.child.kill('SIGTERM');
  await Promise.all(operators.map((o) => o.exited));
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

interface Answer {
  status: number;
  body: { status: string; leader: boolean; problems: string[] };
}
const probe = async (url: string, path: '/healthz' | '/readyz'): Promise<Answer> => {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
};
const all = (path: '/healthz' | '/readyz') => Promise.all(healthUrls.map((u) => probe(u, path)));

test(
  'leader and standby are live and ready; cut off from the API server they are live but not ready, then ready again',
  { timeout: 120_000 },
  async () => {
    const ready = await eventually(
      'both operators ready, one of them leading',
      async () => {
        const answers = await all('/readyz');
        return answers.every((a) => a.status === 200) && answers.some((a) => a.body.leader) ? answers : undefined;
      },
      60_000,
    );
    assert.deepEqual(ready.map((a) => a.body.leader).sort(), [false, true], 'one leader, one standby, both ready');
    assert.ok((await all('/healthz')).every((a) => a.status === 200 && a.body.problems.length === 0));

    await relay.cut();
    const cutOff = await eventually(
      'both operators not ready',
      async () => {
        const answers = await all('/readyz');
        return answers.every((a) => a.status === 503) ? answers : undefined;
      },
      30_000,
    );
    for (const a of cutOff) {
      assert.equal(a.body.status, 'failing');
      assert.match(a.body.problems.join(), /the API server has not answered for \d+s/);
    }
    // Still live: a restart would not bring the API server back.
    const live = await all('/healthz');
    assert.deepEqual(
      live.map((a) => a.status),
      [200, 200],
      JSON.stringify(live),
    );

    await relay.open();
    await eventually(
      'both operators ready again, one leading',
      async () => {
        const answers = await all('/readyz');
        return answers.every((a) => a.status === 200) && answers.some((a) => a.body.leader) ? true : undefined;
      },
      60_000,
    );
    assert.ok((await all('/healthz')).every((a) => a.status === 200));
  },
);
