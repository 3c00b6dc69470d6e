import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, requireStack, CRD_DIR } from '@anshim/dev-platform';

const CRD = join(CRD_DIR, 'messagingcampaigns.messaging.anshim.io.yaml');
const EXAMPLE = join(repoRoot, 'examples/campaign.yaml');
const CRD_FLEET = 'crd/messagingfleets.messaging.anshim.io';

type Manifest = { metadata: { name: string }; spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

function kubectl(args: string[], input?: string): { ok: boolean; out: string; err: string } {
  const stack = requireStack();
  const r = spawnSync(stack.tools.kubectl, args, {
    env: { ...process.env, KUBECONFIG: stack.kubeconfig },
    input,
    encoding: 'utf8',
  });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}

function example(name: string): Manifest {
  const stack = requireStack();
  const json = execFileSync(stack.tools.kubectl, ['create', '--dry-run=client', '-o', 'json', '-f', EXAMPLE], {
    env: { ...process.env, KUBECONFIG: stack.kubeconfig },
    encoding: 'utf8',
  });
  const m = JSON.parse(json) as Manifest;
  m.metadata.name = name;
  return m;
}

describe('MessagingCampaign CRD in the real API server', () => {
  const suffix = `${process.pid}-${Date.now() % 100000}`;

  before(() => {
    const applied = kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRD]);
    assert.ok(applied.ok, applied.err);
    const ready = kubectl([
      'wait',
      '--for',
      'condition=established',
      '--timeout=60s',
      'crd/messagingcampaigns.messaging.anshim.io',
    ]);
    assert.ok(ready.ok, ready.err);
  });

  test('the example applies, gets defaults, shows printer columns and explains itself', () => {
    const name = `promo-${suffix}`;
    const m = example(name);
    delete m.spec.priorityClass;
    // A freshly established CRD can answer 404/429 for a moment; retry the first write.
    let applied = kubectl(['apply', '-f', '-'], JSON.stringify(m));
    for (let i = 0; !applied.ok && i < 20; i++) {
      execFileSync('sleep', ['0.2']);
      applied = kubectl(['apply', '-f', '-'], JSON.stringify(m));
    }
    assert.ok(applied.ok, applied.err);
    assert.equal(kubectl(['get', 'mc', name, '-o', 'jsonpath={.spec.priorityClass}']).out, 'bulk');

    const patched = kubectl([
      'patch',
      'mc',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Sending', counts: { sent: 2, delivered: 1, failed: 0 } } }),
    ]);
    assert.ok(patched.ok, patched.err);
    const table = kubectl(['get', 'mc', name]).out;
    assert.match(table, /NAME\s+PHASE\s+SENT\s+DELIVERED\s+FAILED\s+AGE/);
    assert.match(table, new RegExp(`${name}\\s+Sending\\s+2\\s+1\\s+0\\s+`));

    const explained = kubectl(['explain', 'mc.spec.sender.optOutNumber']);
    assert.ok(explained.ok, explained.err);
    assert.match(explained.out, /무료수신거부/);
    assert.ok(kubectl(['delete', 'mc', name, '--wait=false']).ok);
  });

  const invalid: Array<[string, (m: Manifest) => void, RegExp]> = [
    [
      'advertising without an opt-out number',
      (m) => delete m.spec.sender.optOutNumber,
      /must name a free opt-out number/,
    ],
    ['a zero rate', (m) => (m.spec.rateLimit.messagesPerSecond = 0), /messagesPerSecond must be greater than 0/],
    [
      'a fallback repeating the primary channel',
      (m) => (m.spec.fallback = ['ALIMTALK']),
      /must not repeat the primary channel/,
    ],
    [
      'AlimTalk without a template code',
      (m) => delete m.spec.template.alimtalkTemplateCode,
      /registered template code/,
    ],
    [
      'AlimTalk without kakao as processor',
      (m) => (m.spec.processors = ['skt']),
      /needs 'kakao' among spec.processors/,
    ],
    [
      'a caller id that is a mobile number with dashes',
      (m) => (m.spec.sender.callbackNumber = '010-1234-5678'),
      /spec.sender.callbackNumber/,
    ],
    [
      'an unknown carrier',
      (m) => (m.spec.processors = ['kakao', 'acme']),
      /spec.processors\[1\]: Unsupported value: "acme"/,
    ],
    [
      'a plain-http webhook',
      (m) => (m.spec.webhook = { url: 'http://example.invalid/hook' }),
      /webhook.url must use https/,
    ],
  ];
  for (const [what, mutate, message] of invalid) {
    test(`the API server refuses ${what}, with the reason`, () => {
      const m = example(`bad-${suffix}`);
      mutate(m);
      const r = kubectl(['apply', '-f', '-'], JSON.stringify(m));
      assert.equal(r.ok, false, 'refused');
      assert.match(r.err, message);
    });
  }
});

describe('MessagingFleet CRD in the real API server', () => {
  const name = `fleet-${process.pid}-${Date.now() % 100000}`;
  const fleet = (spec: Record<string, unknown> = {}) =>
    JSON.stringify({
      apiVersion: 'messaging.anshim.io/v1alpha1',
      kind: 'MessagingFleet',
      metadata: { name },
      spec: {
        kafka: { brokers: ['kafka:9092'] },
        carriers: [{ id: 'skt', address: 'skt:443' }],
        worker: { image: 'anshim/worker:1' },
        ...spec,
      },
    });

  before(() => {
    const applied = kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '-f',
      join(CRD_DIR, 'messagingfleets.messaging.anshim.io.yaml'),
    ]);
    assert.ok(applied.ok, applied.err);
    const ready = kubectl(['wait', '--for', 'condition=established', '--timeout=60s', CRD_FLEET]);
    assert.ok(ready.ok, ready.err);
  });

  test('a fleet that says nothing of metrics gets them on 9464; pull Secrets are kept as given', () => {
    const withPullSecret = fleet({ worker: { image: 'w:1', imagePullSecrets: [{ name: 'reg' }] } });
    // A freshly established CRD can answer 404/429 for a moment; retry the first write.
    let applied = kubectl(['apply', '-f', '-'], withPullSecret);
    for (let i = 0; !applied.ok && i < 20; i++) {
      execFileSync('sleep', ['0.2']);
      applied = kubectl(['apply', '-f', '-'], withPullSecret);
    }
    assert.ok(applied.ok, applied.err);
    const stored = JSON.parse(kubectl(['get', 'mfleet', name, '-o', 'json']).out) as Manifest;
    assert.deepEqual(stored.spec.metrics, { enabled: true, port: 9464 });
    assert.deepEqual(stored.spec.worker.imagePullSecrets, [{ name: 'reg' }]);
    const off = kubectl(['apply', '-f', '-'], fleet({ metrics: { enabled: false } }));
    assert.ok(off.ok, off.err);
    assert.equal(kubectl(['get', 'mfleet', name, '-o', 'jsonpath={.spec.metrics.enabled}']).out, 'false');
    const traced = kubectl(['apply', '-f', '-'], fleet({ tracing: { otlpEndpoint: 'https://[fd00::1]:4318/v1' } }));
    assert.ok(traced.ok, traced.err);
    assert.ok(kubectl(['delete', 'mfleet', name]).ok);
  });

  for (const [what, spec, message] of [
    ['a metrics port out of range', { metrics: { port: 70000 } }, /spec.metrics.port: Invalid value: 70000/],
    ['a metrics port of 0', { metrics: { port: 0 } }, /spec.metrics.port: Invalid value: 0/],
    [
      'a pull Secret that is no Secret name',
      { worker: { image: 'w:1', imagePullSecrets: [{ name: 'Bad_Name' }] } },
      /spec.worker.imagePullSecrets\[0\].name: Invalid value: "Bad_Name"/,
    ],
    [
      'an OTLP endpoint that is no http(s) URL',
      { tracing: { otlpEndpoint: 'otel-collector:4318' } },
      /spec.tracing.otlpEndpoint: Invalid value: "otel-collector:4318"/,
    ],
  ] as const) {
    test(`the API server refuses ${what}`, () => {
      const r = kubectl(['apply', '-f', '-'], fleet(spec));
      assert.equal(r.ok, false, 'refused');
      assert.match(r.err, message);
    });
  }
});
