// The Helm chart against the real helm binary and the local stack's real API server: lint,
// schema, server-side dry runs under the restricted Pod Security profile, the generated keys,
// and a real install whose RBAC carries the real operator process through a campaign.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { LocalKekProvider, NamespaceKekProvider, carrierKeyFromFleetSecret } from '@anshim/core';
import { GATEWAY_ROLES, type MessagingCampaign, type MessagingFleet } from '@anshim/api';
import {
  CRDS,
  CRD_DIR,
  createNamespace,
  deleteCampaigns,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  serviceAccountToken,
  startOperator,
  startProcess,
  stopProcess,
  type OperatorProcess,
  type TestKek,
  VERSIONS,
  repoRoot,
  requireStack,
  stackCredentials,
} from '@anshim/dev-platform';
import { workerDeploymentFor, workerFileFor } from '@anshim/operator';

const CHART = join(repoRoot, 'charts/anshim');
const PRODUCTION = join(repoRoot, 'charts/examples/values-production.yaml');
const RELEASE = 'anshim';
const KUBE_VERSION = ['--kube-version', VERSIONS.kubernetes];

// Rendered and fetched objects are checked field by field: typed as JSON, not as API models.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Json;
  data?: Record<string, string>;
};

function run(tool: string, args: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(tool, args, {
    env: { ...process.env, KUBECONFIG: requireStack().kubeconfig },
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}
const helm = (args: string[]) => run(requireStack().tools.helm, args);
const tryKubectl = (args: string[], input?: string) => run(requireStack().tools.kubectl, args, input);

function render(namespace: string, extra: string[] = []): string {
  const r = helm(['template', RELEASE, CHART, '-n', namespace, ...KUBE_VERSION, ...extra]);
  assert.ok(r.ok, r.err);
  return r.out;
}
const manifests = (yaml: string): Manifest[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
const secretData = (docs: Manifest[], name: string): Record<string, Buffer> => {
  const s = docs.find((d) => d.kind === 'Secret' && d.metadata.name === name);
  assert.ok(s, `rendered Secret ${name}`);
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
};

/** Pod templates (metadata and spec) of the rendered workloads, by workload name. */
function podTemplates(docs: Manifest[]): Map<string, Json> {
  const pods = new Map<string, Json>();
  for (const d of docs)
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(d.kind))
      pods.set(`${d.kind}/${d.metadata.name}`, d.spec.template);
  return pods;
}
const podSpecs = (docs: Manifest[]): Map<string, Json> =>
  new Map([...podTemplates(docs)].map(([name, template]) => [name, template.spec]));

const METRICS_PORT = 9464;
const SCRAPE_ANNOTATIONS = {
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': String(METRICS_PORT),
  'prometheus.io/path': '/metrics',
};
/** An app's pods in the monitoring namespace, as NetworkPolicyPeers. */
const monitoringPods = (app: string) => [
  {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': app } },
  },
];
/** The default networkPolicy.metrics.from: Prometheus' pods. */
const PROMETHEUS_PEERS = monitoringPods('prometheus');
/** The default networkPolicy.tracing.to: the OpenTelemetry collector's pods. */
const COLLECTOR_PEERS = monitoringPods('opentelemetry-collector');

/** What makes a pod scrapeable: its container's port named metrics, the env telemetry reads, the prometheus.io annotations. */
function scrapeWiring(template: Json): { port?: number; env?: string; annotations: Record<string, string> } {
  const container = template.spec.containers[0];
  return {
    port: container.ports?.find((p: Json) => p.name === 'metrics')?.containerPort,
    env: container.env?.find((e: Json) => e.name === 'ANSHIM_METRICS_PORT')?.value,
    annotations: Object.fromEntries(
      Object.entries((template.metadata.annotations ?? {}) as Record<string, string>).filter(([k]) =>
        k.startsWith('prometheus.io/'),
      ),
    ),
  };
}

const policy = (docs: Manifest[], name: string): Json => {
  const p = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === name);
  assert.ok(p, `NetworkPolicy ${name}`);
  return p.spec;
};
const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const ALLOWED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

/** What the restricted Pod Security profile (and our own bar: read-only roots, resources) refuses. */
function restrictedViolations(pod: Json): string[] {
  const out: string[] = [];
  const podCtx = pod.securityContext ?? {};
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[host]) out.push(host);
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) out.push(`volume ${v.name}: ${type}`);
  }
  const containers = [...(pod.initContainers ?? []), ...pod.containers];
  if (containers.length === 0) out.push('no containers');
  for (const c of containers) {
    const ctx = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot`);
    if ((ctx.runAsUser ?? podCtx.runAsUser) === 0) out.push(`${where}: runAsUser 0`);
    if ((ctx.seccompProfile ?? podCtx.seccompProfile)?.type !== 'RuntimeDefault') out.push(`${where}: seccomp`);
    if (ctx.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation`);
    if (ctx.privileged) out.push(`${where}: privileged`);
    if (!ctx.capabilities?.drop?.includes('ALL')) out.push(`${where}: capabilities.drop ALL`);
    if ((ctx.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE')) out.push(`${where}: adds`);
    if (ctx.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem`);
    for (const kind of ['requests', 'limits'])
      for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) out.push(`${where}: resources.${kind}.${r}`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${where}: hostPort`);
  }
  return out;
}

/** Restricted, enforced: the namespace admits no pod that breaks the profile. */
function restrictedNamespace(prefix: string): string {
  const ns = createNamespace(prefix);
  kubectl([
    'label',
    'namespace',
    ns,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/warn=restricted',
    'pod-security.kubernetes.io/audit=restricted',
  ]);
  return ns;
}

/** The API server's PodSecurity admission judges a pod made from the template (dry run). */
function admitPod(namespace: string, name: string, spec: unknown): { ok: boolean; err: string } {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec };
  return tryKubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify(pod));
}

function exampleCampaign(namespace: string): MessagingCampaign {
  const mc = parse(readFileSync(join(repoRoot, 'examples/campaign.yaml'), 'utf8')) as MessagingCampaign;
  mc.metadata.namespace = namespace;
  mc.metadata.uid = 'u-chart';
  return mc;
}

describe('the anshim Helm chart', () => {
  let ns: string;
  const cleanups: Array<() => void | Promise<void>> = [];

  before(() => {
    installCrds();
    ns = restrictedNamespace('chart');
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('helm lint --strict passes with the default and the production values', () => {
    for (const extra of [[], ['-f', PRODUCTION]]) {
      const r = helm(['lint', '--strict', ...KUBE_VERSION, CHART, ...extra]);
      assert.ok(r.ok, `helm lint ${extra.join(' ')}:\n${r.out}${r.err}`);
      assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  test("the README's RBAC tables are exactly what the templates grant, and the gateway's roles are what it asks", () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const VERB = /\b(get|list|watch|create|update|patch|delete)\b/g;
    const rowsOf = (heading: string) => {
      const section = readme.slice(readme.indexOf(heading));
      const table = section.slice(section.indexOf('\n|')).split('\n\n')[0]!;
      return table
        .split('\n')
        .filter((line) => line.startsWith('|'))
        .slice(2)
        .map((line) =>
          line
            .split('|')
            .slice(1, -1)
            .map((c) => c.trim()),
        );
    };
    const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    type Grants = Record<string, string[]>;
    const add = (into: Grants, resources: string[], verbs: string[]) => {
      for (const r of resources) into[r] = [...new Set([...(into[r] ?? []), ...verbs])].sort();
    };
    // From the README: subject → resource → verbs.
    const documented: Record<string, Grants> = {};
    for (const [subject, resources, verbs] of rowsOf('## RBAC')) {
      if (resources === '—' || !subject) continue;
      add(
        (documented[subject!] ??= {}),
        names(resources!),
        [...verbs!.matchAll(VERB)].map((m) => m[1]!),
      );
    }
    // From the templates: every rule of every role bound to the component's ServiceAccount.
    const docs = manifests(render(ns));
    const roles = new Map(
      docs
        .filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole')
        .map((d) => [`${d.kind}/${d.metadata.name}`, (d as Json).rules as Json[]]),
    );
    roles.set('ClusterRole/system:auth-delegator', [
      { resources: ['tokenreviews', 'subjectaccessreviews'], verbs: ['create'] },
    ]);
    const granted: Record<string, Grants> = {};
    for (const b of docs.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding') as Json[])
      for (const subject of b.subjects) {
        const component = /^anshim-(operator|gateway)$/.exec(subject.name)?.[1];
        assert.ok(component, `a binding for ${subject.name}`);
        const rules = roles.get(`${b.roleRef.kind}/${b.roleRef.name}`);
        assert.ok(rules, `${b.metadata.name} binds a role the chart renders`);
        for (const rule of rules) add((granted[component] ??= {}), rule.resources, rule.verbs);
      }
    assert.deepEqual(granted, documented);

    // The callers' ClusterRoles: the README's table, the rendered rules and @anshim/api's GATEWAY_ROLES agree.
    const callers: Record<string, Grants> = {};
    for (const [role, resources, verbs] of rowsOf('### The gateway')) {
      const name = names(role!)[0]!.replace('<release>-<namespace>-', `${RELEASE}-${ns}-`);
      add(
        (callers[name] ??= {}),
        names(resources!),
        [...verbs!.matchAll(VERB)].map((m) => m[1]!),
      );
    }
    const rendered: Record<string, Grants> = {};
    const expected: Record<string, Grants> = {};
    for (const [role, rules] of Object.entries(GATEWAY_ROLES)) {
      const name = `${RELEASE}-${ns}-${role.replace(/^anshim-/, '')}`;
      for (const rule of rules) add((expected[name] ??= {}), [...rule.resources], [...rule.verbs]);
      for (const rule of roles.get(`ClusterRole/${name}`) ?? []) {
        assert.deepEqual(rule.apiGroups, ['messaging.anshim.io']);
        add((rendered[name] ??= {}), rule.resources, rule.verbs);
      }
    }
    assert.deepEqual(rendered, expected);
    assert.deepEqual(callers, expected);
  });

  test('the CRDs in the chart are the files the operator tests apply', () => {
    assert.deepEqual(
      CRDS.map((f) => f.slice(CRD_DIR.length + 1)).sort(),
      readdirSync(join(CHART, 'crds')).sort(),
      "the operator's test harness applies exactly the chart's crds/",
    );
    assert.equal(CRD_DIR, join(CHART, 'crds'));
    assert.ok(!existsSync(join(repoRoot, 'operator/crds')), 'no second copy');
    // What helm installs (crds/ verbatim) is byte for byte what the tests apply.
    const shown = helm(['show', 'crds', CHART]);
    assert.ok(shown.ok, shown.err);
    for (const crd of CRDS) assert.ok(shown.out.includes(readFileSync(crd, 'utf8')), crd);
  });

  test('values.schema.json refuses bad values with the reason', () => {
    const refused = (args: string[], reason: RegExp) => {
      const r = helm(['template', RELEASE, CHART, '-n', ns, ...KUBE_VERSION, ...args]);
      assert.ok(!r.ok, `helm template ${args.join(' ')} should fail`);
      assert.match(r.err, /values don't meet the specifications of the schema/);
      assert.match(r.err, reason);
    };
    refused(['--set', 'operator.replicaCount=-1'], /\/operator\/replicaCount': minimum/);
    refused(['--set', 'gateway.replicaCount=-2'], /\/gateway\/replicaCount': minimum/);
    refused(['--set', 'fleet.scaling.classes.urgent.maxReplicas=3'], /additional properties 'urgent' not allowed/);
    refused(['--set', 'fleet.scaling.classes.bulk.minReplicas=-1'], /\/fleet\/scaling\/classes\/bulk\/minReplicas/);
    refused(['--set', 'kafka.brokers[0]=kafka'], /\/kafka\/brokers\/0': 'kafka' does not match pattern/);
    refused(['--set', 'operator.scope=Everywhere'], /\/operator\/scope/);
    refused(['--set', 'fleet.image.tag=latest'], /\/fleet\/image\/tag/);
    refused(['--set', 'simulators.enabled=false'], /\/secrets\/carrierKeys\/existingSecret': minLength/);
    refused(['--set', 'metrics.port=8080'], /\/metrics\/port/);
    refused(['--set', 'metrics.port=70000'], /\/metrics\/port/);
    refused(['--set', 'metrics.serviceMonitor.interval=soon'], /\/metrics\/serviceMonitor\/interval/);
    // An empty list would let every pod scrape: deny-by-default stays.
    refused(['--set-json', 'networkPolicy.metrics.from=[]'], /\/networkPolicy\/metrics\/from': minItems/);
    refused(['--set', 'image.pullSecrets[0]=Registry_Creds'], /\/image\/pullSecrets\/0': 'Registry_Creds'/);
    refused(['--set', 'fleet.imagePullSecrets[0]='], /\/fleet\/imagePullSecrets\/0': minLength/);
    refused(['--set', 'operator.healthPort=0'], /\/operator\/healthPort': minimum/);
    refused(
      ['--set', 'tracing.otlpEndpoint=not-a-url'],
      /\/tracing\/otlpEndpoint': 'not-a-url' does not match pattern/,
    );
    refused(['--set-json', 'networkPolicy.tracing.to=[]'], /\/networkPolicy\/tracing\/to': minItems/);
    // Not a schema rule, a template check: two listeners cannot share a port.
    const clash = helm(['template', RELEASE, CHART, '-n', ns, ...KUBE_VERSION, '--set', 'operator.healthPort=9464']);
    assert.ok(!clash.ok);
    assert.match(clash.err, /metrics.port and operator.healthPort must differ/);
    // And an install is refused before anything reaches the cluster.
    const install = helm(['install', 'refused', CHART, '-n', ns, '--set', 'operator.replicaCount=-1']);
    assert.ok(!install.ok);
    assert.match(install.err, /\/operator\/replicaCount': minimum/);
  });

  for (const [label, extra] of [
    ['default', []],
    ['production', ['-f', PRODUCTION]],
  ] as const) {
    test(`${label} values: every pod is restricted, and the API server accepts the rendered chart`, () => {
      const yaml = render(ns, [...extra]);
      const docs = manifests(yaml);
      const pods = podSpecs(docs);
      const expected =
        label === 'default'
          ? ['Deployment/anshim-operator', 'Deployment/anshim-gateway', 'Deployment/anshim-simulator']
          : ['Deployment/anshim-operator', 'Deployment/anshim-gateway'];
      assert.deepEqual([...pods.keys()].sort(), expected.sort());

      // The workers' pods are built by the operator from the rendered fleet: the same bar for them.
      const fleet = docs.find((d) => d.kind === 'MessagingFleet') as unknown as MessagingFleet;
      assert.ok(fleet, 'a MessagingFleet');
      assert.equal(fleet.metadata.name, 'default');
      const worker = workerDeploymentFor(exampleCampaign(ns), fleet, 1, 'h');
      pods.set('Deployment/anshim-worker-weekend-promo', worker.spec!.template.spec);

      for (const [name, pod] of pods) {
        assert.deepEqual(restrictedViolations(pod), [], name);
        const admitted = admitPod(ns, `probe-${name.split('/')[1]}`, pod);
        assert.ok(admitted.ok, `${name} refused by PodSecurity admission: ${admitted.err}`);
      }

      const applied = tryKubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], yaml);
      assert.ok(applied.ok, applied.err);
      assert.doesNotMatch(applied.err, /Warning/, 'no PodSecurity or deprecation warnings');
      assert.equal(applied.out.trim().split('\n').length, docs.length);
      if (label === 'production') {
        assert.ok(!docs.some((d) => d.kind === 'Secret'), 'production keys come from existing Secrets only');
        assert.ok(!docs.some((d) => d.metadata.name.includes('simulator')));
      }

      // Metrics: the operator, the gateway and the workers serve /metrics on a named port, annotated for Prometheus.
      const templates = podTemplates(docs);
      templates.set('Deployment/anshim-worker-weekend-promo', worker.spec!.template);
      for (const name of [
        'Deployment/anshim-operator',
        'Deployment/anshim-gateway',
        'Deployment/anshim-worker-weekend-promo',
      ])
        assert.deepEqual(
          scrapeWiring(templates.get(name)),
          { port: METRICS_PORT, env: String(METRICS_PORT), annotations: SCRAPE_ANNOTATIONS },
          name,
        );
      if (label === 'default')
        assert.deepEqual(scrapeWiring(templates.get('Deployment/anshim-simulator')), {
          port: undefined,
          env: undefined,
          annotations: {},
        });

      // The operator's probes reach its health listener.
      const operatorContainer = templates.get('Deployment/anshim-operator').spec.containers[0];
      assert.deepEqual(
        operatorContainer.ports.find((p: Json) => p.name === 'health'),
        { name: 'health', containerPort: 8081, protocol: 'TCP' },
      );
      assert.ok(operatorContainer.args.includes('--health-port=8081'));
      assert.ok(operatorContainer.args.includes('--health-host=0.0.0.0'), 'the kubelet probes the pod IP');
      assert.deepEqual(operatorContainer.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
      assert.deepEqual(operatorContainer.readinessProbe.httpGet, { path: '/readyz', port: 'health' });

      // The gateway listens on the pod's addresses, where its Service and the kubelet's probes reach
      // it (main.ts defaults to 127.0.0.1 for a developer's machine).
      const gatewayContainer = templates.get('Deployment/anshim-gateway').spec.containers[0];
      const envOf = (name: string) => gatewayContainer.env.find((e: Json) => e.name === name)?.value;
      assert.equal(envOf('ANSHIM_GATEWAY_HOST'), '0.0.0.0', 'the gateway listens on all interfaces in its pod');
      assert.equal(
        envOf('ANSHIM_GATEWAY_PORT'),
        String(gatewayContainer.ports.find((p: Json) => p.name === 'http').containerPort),
      );

      // Pull Secrets: production's registry credentials reach every pod, the workers' too.
      for (const [name, template] of templates)
        assert.deepEqual(
          template.spec.imagePullSecrets,
          label === 'production' ? [{ name: 'anshim-registry' }] : undefined,
          name,
        );

      // NetworkPolicies: Prometheus in on the metrics port of the operator, the gateway and the workers; no one else.
      const scrape = { from: PROMETHEUS_PEERS, ports: [{ protocol: 'TCP', port: METRICS_PORT }] };
      assert.deepEqual(policy(docs, 'anshim-operator').ingress, [scrape]);
      assert.deepEqual(policy(docs, 'anshim-worker').ingress, [scrape]);
      const gatewayIngress = policy(docs, 'anshim-gateway').ingress;
      assert.deepEqual(gatewayIngress.slice(1), [scrape]);
      assert.deepEqual(gatewayIngress[0].ports, [{ protocol: 'TCP', port: 8080 }]);
      assert.ok(policy(docs, 'anshim-default-deny'), 'deny-by-default stays');
      if (label === 'default')
        assert.ok(
          !JSON.stringify(policy(docs, 'anshim-simulator').ingress).includes(String(METRICS_PORT)),
          'the simulators export no metrics',
        );

      // Prometheus Operator objects only when asked for.
      assert.deepEqual(
        docs.filter((d) => d.apiVersion.startsWith('monitoring.coreos.com/') || d.metadata.name.endsWith('-metrics')),
        [],
      );
    });
  }

  test('metrics.serviceMonitor.enabled adds monitors whose selectors find the metrics ports', () => {
    const docs = manifests(
      render(ns, [
        ...['--set', 'metrics.serviceMonitor.enabled=true'],
        ...['--set', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack'],
        ...['--set', 'metrics.serviceMonitor.scrapeTimeout=10s'],
      ]),
    );
    const monitors = docs.filter((d) => d.apiVersion === 'monitoring.coreos.com/v1');
    assert.deepEqual(monitors.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
      'PodMonitor/anshim-worker',
      'ServiceMonitor/anshim-gateway',
      'ServiceMonitor/anshim-operator',
    ]);
    for (const m of monitors) {
      assert.equal(m.metadata.labels?.release, 'kube-prometheus-stack', `${m.kind} is selected by the Prometheus`);
      assert.equal(m.spec.jobLabel, 'app.kubernetes.io/name');
      assert.deepEqual(m.spec.namespaceSelector, { matchNames: [ns] });
      assert.deepEqual(m.spec.endpoints ?? m.spec.podMetricsEndpoints, [
        { port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
      ]);
    }
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    for (const component of ['operator', 'gateway']) {
      const monitor = monitors.find((m) => m.metadata.name === `anshim-${component}`)!;
      // The metrics Service alone: not the gateway's own Service, which has no metrics port.
      const services = docs.filter(
        (d) => d.kind === 'Service' && selects(monitor.spec.selector.matchLabels, d.metadata.labels),
      );
      assert.deepEqual(
        services.map((s) => s.metadata.name),
        [`anshim-${component}-metrics`],
      );
      const service = services[0]!;
      assert.equal(service.spec.clusterIP, 'None', 'headless: every pod is a target');
      const port = service.spec.ports.find((p: Json) => p.name === 'metrics');
      assert.equal(port.targetPort, 'metrics');
      const backing = deployments.filter((d) => selects(service.spec.selector, d.spec.template.metadata.labels));
      assert.deepEqual(
        backing.map((d) => d.metadata.name),
        [`anshim-${component}`],
      );
      assert.equal(scrapeWiring(backing[0]!.spec.template).port, METRICS_PORT, 'the named port exists');
    }
    // The workers have no Service: the PodMonitor selects their pods, and only theirs.
    const podMonitor = monitors.find((m) => m.kind === 'PodMonitor')!;
    const fleet = docs.find((d) => d.kind === 'MessagingFleet') as unknown as MessagingFleet;
    const worker = workerDeploymentFor(exampleCampaign(ns), fleet, 1, 'h').spec!.template;
    assert.ok(selects(podMonitor.spec.selector.matchLabels, worker.metadata!.labels));
    assert.equal(scrapeWiring(worker).port, METRICS_PORT);
    for (const d of deployments)
      assert.ok(!selects(podMonitor.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name);

    // The API server takes the metrics Services (the monitors need the Prometheus Operator's CRDs, absent here).
    const rest = docs.filter((d) => !d.apiVersion.startsWith('monitoring.coreos.com/'));
    const applied = tryKubectl(
      ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
      rest.map((d) => JSON.stringify(d)).join('\n'),
    );
    assert.ok(applied.ok, applied.err);
    assert.match(applied.out, /service\/anshim-operator-metrics created \(server dry run\)/);

    // Cluster scope: the operator runs workers in any namespace with a fleet.
    const cluster = manifests(
      render(ns, ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'operator.scope=Cluster']),
    ).find((d) => d.kind === 'PodMonitor')!;
    assert.deepEqual(cluster.spec.namespaceSelector, { any: true });
  });

  test('metrics.enabled=false: no metrics port, env, annotation, monitor or NetworkPolicy opening, workers included', () => {
    const docs = manifests(
      render(ns, ['--set', 'metrics.enabled=false', '--set', 'metrics.serviceMonitor.enabled=true']),
    );
    const fleet = docs.find((d) => d.kind === 'MessagingFleet') as unknown as MessagingFleet;
    assert.deepEqual(fleet.spec.metrics, { enabled: false, port: METRICS_PORT });
    const templates = podTemplates(docs);
    templates.set('worker', workerDeploymentFor(exampleCampaign(ns), fleet, 1, 'h').spec!.template);
    for (const [name, template] of templates)
      assert.deepEqual(scrapeWiring(template), { port: undefined, env: undefined, annotations: {} }, name);
    assert.equal(policy(docs, 'anshim-worker').ingress, undefined);
    assert.equal(policy(docs, 'anshim-operator').ingress, undefined);
    assert.equal(policy(docs, 'anshim-gateway').ingress.length, 1);
    assert.ok(!docs.some((d) => d.apiVersion.startsWith('monitoring.coreos.com/')));
  });

  test('tracing.otlpEndpoint: every pod, the workers included, exports spans to the collector, and may reach it', () => {
    const endpoint = 'http://otel-collector.monitoring:4318';
    const collector = { to: COLLECTOR_PEERS, ports: [{ protocol: 'TCP', port: 4318 }] };
    for (const on of [true, false]) {
      const yaml = render(ns, on ? ['--set', `tracing.otlpEndpoint=${endpoint}`] : []);
      const docs = manifests(yaml);
      const fleet = docs.find((d) => d.kind === 'MessagingFleet') as unknown as MessagingFleet;
      assert.deepEqual(fleet.spec.tracing, on ? { otlpEndpoint: endpoint } : undefined);
      const templates = podTemplates(docs);
      templates.set('worker', workerDeploymentFor(exampleCampaign(ns), fleet, 1, 'h').spec!.template);
      assert.equal(templates.size, 4, 'operator, gateway, simulator, worker');
      for (const [name, template] of templates)
        assert.deepEqual(
          template.spec.containers[0].env.filter((e: Json) => e.name.startsWith('OTEL_')),
          on ? [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: endpoint }] : [],
          name,
        );

      // Deny-by-default stays: the collector's port opens only with tracing on, and only to the collector.
      for (const component of ['worker', 'operator', 'gateway', 'simulator']) {
        const egress: Json[] = policy(docs, `anshim-${component}`).egress ?? [];
        assert.deepEqual(
          egress.filter((rule) => rule.ports?.some((p: Json) => p.port === 4318)),
          on ? [collector] : [],
          component,
        );
      }
      // The simulators, which talk to no one, get DNS and the collector alone.
      assert.equal(policy(docs, 'anshim-simulator').egress?.length, on ? 2 : undefined);

      if (on) {
        const applied = tryKubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], yaml);
        assert.ok(applied.ok, applied.err);
        assert.doesNotMatch(applied.err, /Warning/);
        assert.equal(applied.out.trim().split('\n').length, docs.length);
      }
    }
  });

  test('kms.address: the operator and the gateway get the KMS and their own token, and the workers may reach it', () => {
    for (const on of [true, false]) {
      const docs = manifests(render(ns, on ? ['--set', 'kms.address=https://openbao.kms.svc:8200'] : []));
      const templates = podTemplates(docs);
      for (const component of ['operator', 'gateway']) {
        const spec = templates.get(`Deployment/anshim-${component}`).spec;
        const env = Object.fromEntries(spec.containers[0].env.map((e: Json) => [e.name, e.value]));
        assert.equal(env.ANSHIM_KMS_ADDRESS, on ? 'https://openbao.kms.svc:8200' : undefined, component);
        assert.equal(env.ANSHIM_KMS_TOKEN_FILE, on ? '/etc/anshim/kms/token' : undefined, component);
        const volume = spec.volumes.find((v: Json) => v.name === 'kms-token');
        assert.equal(volume?.secret.secretName, on ? `anshim-kms-${component}` : undefined, component);
        assert.equal(
          spec.containers[0].volumeMounts.some((m: Json) => m.mountPath === '/etc/anshim/kms'),
          on,
          component,
        );
      }
      // The workers call the KMS too (each unwraps its campaign's key with its namespace's token).
      for (const component of ['worker', 'operator', 'gateway']) {
        const egress: Json[] = policy(docs, `anshim-${component}`).egress ?? [];
        assert.equal(
          egress.filter((rule) => rule.ports?.some((p: Json) => p.port === 8200)).length,
          on ? 1 : 0,
          component,
        );
      }
    }
  });

  test("image pull Secrets: the shared ones and each component's own, once each", () => {
    const docs = manifests(
      render(ns, [
        ...['--set', 'image.pullSecrets={shared}'],
        ...['--set', 'operator.imagePullSecrets={operator-only,shared}'],
        ...['--set', 'gateway.imagePullSecrets={gateway-only}'],
        ...['--set', 'simulators.imagePullSecrets={simulator-only}'],
        ...['--set', 'fleet.imagePullSecrets={worker-only}'],
      ]),
    );
    const names = (template: Json) => template.spec.imagePullSecrets?.map((s: { name: string }) => s.name);
    const templates = podTemplates(docs);
    assert.deepEqual(names(templates.get('Deployment/anshim-operator')), ['shared', 'operator-only']);
    assert.deepEqual(names(templates.get('Deployment/anshim-gateway')), ['shared', 'gateway-only']);
    assert.deepEqual(names(templates.get('Deployment/anshim-simulator')), ['shared', 'simulator-only']);
    const fleet = docs.find((d) => d.kind === 'MessagingFleet') as unknown as MessagingFleet;
    assert.deepEqual(fleet.spec.worker.imagePullSecrets, [{ name: 'shared' }, { name: 'worker-only' }]);
    assert.deepEqual(names(workerDeploymentFor(exampleCampaign(ns), fleet, 1, 'h').spec!.template), [
      'shared',
      'worker-only',
    ]);
  });

  test('PodSecurity admission is really enforced in the test namespace (a negative control)', () => {
    const pod = podSpecs(manifests(render(ns))).get('Deployment/anshim-operator');
    pod.containers[0].securityContext.allowPrivilegeEscalation = true;
    const r = admitPod(ns, 'probe-escalating', pod);
    assert.ok(!r.ok);
    assert.match(r.err, /violates PodSecurity "restricted/);
  });

  test('the generated keys are what the operator, the workers and the simulators read', () => {
    const docs = manifests(render(ns));
    const kek = secretData(docs, 'anshim-kek');
    assert.match(kek.kek!.toString(), /^[0-9a-f]{64}$/);
    assert.match(kek.id!.toString(), /^kek-[0-9a-f]{12}$/);
    new LocalKekProvider(kek.id!.toString(), Buffer.from(kek.kek!.toString(), 'hex'));
    assert.equal(createPrivateKey(secretData(docs, 'anshim-signing-key')['key.pem']!).asymmetricKeyType, 'ed25519');

    // keys.json: derived from the simulators' secret exactly as core derives it on both ends.
    const psk = Buffer.from(secretData(docs, 'anshim-simulator-psk').psk!.toString(), 'hex');
    assert.equal(psk.length, 32);
    const keys = JSON.parse(secretData(docs, 'anshim-carrier-keys')['keys.json']!.toString()) as Array<{
      carrier: string;
      id: string;
      materialHex: string;
    }>;
    assert.deepEqual(
      keys.map((k) => k.carrier),
      ['skt', 'kt', 'lguplus', 'kakao'],
    );
    for (const k of keys) {
      const expected = carrierKeyFromFleetSecret(k.carrier, psk);
      assert.equal(k.id, expected.id);
      assert.equal(k.materialHex, expected.material.toString('hex'));
    }

    // mTLS: one CA signs the simulators' server certificate (for their Service name) and the workers' client one.
    const client = secretData(docs, 'anshim-carrier-tls');
    const server = secretData(docs, 'anshim-simulator-tls');
    const ca = new X509Certificate(client['ca.crt']!);
    assert.ok(ca.ca);
    const serverCert = new X509Certificate(server['tls.crt']!);
    assert.ok(serverCert.verify(ca.publicKey));
    assert.equal(serverCert.checkHost(`anshim-simulator.${ns}.svc`), `anshim-simulator.${ns}.svc`);
    assert.ok(new X509Certificate(client['tls.crt']!).verify(ca.publicKey));
    assert.ok(serverCert.checkPrivateKey(createPrivateKey(server['tls.key']!)));
    const fleet = docs.find((d) => d.kind === 'MessagingFleet')!;
    for (const c of fleet.spec.carriers as Array<{ address: string }>)
      assert.ok(serverCert.checkHost(c.address.split(':')[0]!), c.address);
    // And the workers check exactly that: the worker file the operator writes from this fleet names
    // no server name, so gRPC verifies each carrier's certificate against the host of its address.
    const file = workerFileFor(exampleCampaign(ns), fleet as unknown as MessagingFleet, { campaign: 't' }, [], {
      id: 'k',
      file: '/etc/anshim/kek/kek',
    });
    assert.equal(file.tls?.serverName, undefined, 'no override: the carrier host is verified');
    assert.ok(Object.values(file.carriers).every((c) => serverCert.checkHost(c!.address.split(':')[0]!)));
  });

  test("the rendered gateway runs for real: the image's entrypoint with the chart's env and mounted Secrets", async () => {
    const brokers = requireStack().kafka.brokers;
    const docs = manifests(render(ns, ['--set', `kafka.brokers={${brokers.join(',')}}`]));
    const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'anshim-gateway')!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    // The command is the gateway image's ENTRYPOINT (the chart sets none of its own).
    assert.equal(container.command, undefined);
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const stage = dockerfile.slice(dockerfile.indexOf('FROM runtime AS gateway'));
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(stage)![1]!) as string[];
    assert.deepEqual(entrypoint.slice(0, 3), ['node', '--import', 'tsx'], 'startProcess runs node --import tsx');
    // The pod's files: each mounted Secret's keys under a directory standing in for its mountPath.
    const root = mkdtempSync(join(tmpdir(), 'anshim-chart-gateway-'));
    const remap = (path: string) => join(root, path);
    for (const mount of container.volumeMounts as Array<{ name: string; mountPath: string }>) {
      const volume = (pod.volumes as Json[]).find((v) => v.name === mount.name);
      mkdirSync(remap(mount.mountPath), { recursive: true });
      if (!volume.secret) continue;
      // The gateway's Kafka user is the cluster administrators' Secret, not the chart's: here, the stack's.
      const data =
        volume.secret.secretName === 'anshim-kafka-gateway'
          ? Object.fromEntries(
              Object.entries({
                username: stackCredentials('gateway').username,
                password: stackCredentials('gateway').password,
              }).map(([k, v]) => [k, Buffer.from(v)]),
            )
          : secretData(docs, volume.secret.secretName);
      const items: Array<{ key: string; path: string }> =
        volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items)
        writeFileSync(join(remap(mount.mountPath), item.path), data[item.key]!, { mode: 0o600 });
    }
    const env: Record<string, string> = {};
    for (const e of container.env as Array<{ name: string; value?: string; valueFrom?: Json }>)
      env[e.name] = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? 'anshim-gateway-0' : ns);
    for (const [k, v] of Object.entries(env)) if (v.startsWith('/')) env[k] = remap(v);
    assert.equal(env.ANSHIM_GATEWAY_HOST, '0.0.0.0', 'the pod listens on all its interfaces');
    // Its Kafka user from the mounted Secret (the gateway refuses to start if Kafka refuses it).
    assert.equal(env.ANSHIM_KAFKA_PASSWORD_FILE, remap('/etc/anshim/kafka/password'));
    assert.equal(env.ANSHIM_KAFKA_SASL_MECHANISM, 'scram-sha-512');
    // On this machine, traffic stays on 127.0.0.1 and ports are free ones; the in-cluster
    // ServiceAccount is the stack's kubeconfig, and the opt-out key is at the image's default path.
    Object.assign(env, {
      ANSHIM_GATEWAY_HOST: '127.0.0.1',
      ANSHIM_GATEWAY_PORT: '0',
      ANSHIM_METRICS_PORT: '0',
      KUBECONFIG: requireStack().kubeconfig,
      ANSHIM_OPT_OUT_KEY_FILE: remap('/etc/anshim/opt-out-key/key'),
    });
    const gateway = await startProcess<{ url: string }>('gateway', entrypoint.slice(3), {
      cwd: repoRoot,
      logFile: join(root, 'gateway.log'),
      env,
    });
    cleanups.push(async () => {
      await stopProcess(gateway);
      rmSync(root, { recursive: true, force: true });
    });
    const base = gateway.ready.url;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const anonymous = await fetch(`${base}/v1/campaigns/${ns}.none/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(anonymous.status, 401, 'it checks callers');
    const token = await serviceAccountToken(kubeConfig(), ns, 'chart-sender', { role: 'anshim-sender' });
    const unknown = await fetch(`${base}/v1/campaigns/${ns}.none/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ purpose: 'transactional', recipient: { phone: '010-2000-0001' } }),
    });
    assert.equal(unknown.status, 404, 'a sender of the namespace learns the campaign does not exist');
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unknown-campaign');
  });

  test('hex → bytes, the helper behind the key derivation, round-trips all 256 byte values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'anshim-chart-hex-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.1.0\n');
    cpSync(join(CHART, 'templates/_helpers.tpl'), join(dir, 'templates/_helpers.tpl'));
    writeFileSync(
      join(dir, 'templates/probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n' +
        '  hex: {{ printf "%x" (include "anshim.hexToBytes" .Values.hex) | quote }}\n',
    );
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const hex of [all.toString('hex'), all.toString('hex').toUpperCase()]) {
      const r = helm(['template', 'probe', dir, '--set', `hex=${hex}`]);
      assert.ok(r.ok, r.err);
      assert.equal((parse(r.out) as Manifest).data!.hex, hex.toLowerCase());
    }
  });

  describe('installed for real', () => {
    let release: string;
    let operator: OperatorProcess | undefined;
    const sliceName = `anshim-chart-test-${process.pid}`;

    before(() => {
      release = restrictedNamespace('chart-install');
      // The stack's API server keeps no endpoints for the `kubernetes` Service: stand one in, so the
      // NetworkPolicy's API server peers come from the lookup at install.
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: sliceName, namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.255.0.7'] }],
          ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
        }),
      );
      cleanups.push(() => void tryKubectl(['delete', 'endpointslice', sliceName, '-n', 'default']));
      const brokers = requireStack().kafka.brokers.join(',');
      const r = helm([
        ...['install', RELEASE, CHART, '-n', release],
        ...['--set', `kafka.brokers={${brokers}}`, '--set', 'fleet.imagePullSecrets={anshim-worker-registry}'],
      ]);
      assert.ok(r.ok, r.err);
      assert.match(r.out, /pod-security.kubernetes.io\/enforce=restricted/, 'NOTES name the namespace label');
      assert.match(r.out, /get mc -w/);
      cleanups.push(() => void helm(['uninstall', RELEASE, '-n', release]));
    });

    after(async () => {
      if (operator) {
        operator.child.kill('SIGTERM');
        await operator.exited;
      }
    });

    test("the NetworkPolicies reach the API server at the `kubernetes` Service's endpoints", () => {
      const policy = JSON.parse(kubectl(['get', 'networkpolicy', 'anshim-operator', '-n', release, '-o', 'json']));
      const apiRule = policy.spec.egress.find((r: { ports: Array<{ port: number }> }) =>
        r.ports.some((p) => p.port === 6443),
      );
      assert.deepEqual(apiRule.to, [{ ipBlock: { cidr: '10.255.0.7/32' } }]);
    });

    /** What `kubectl auth can-i --as` says of a component's ServiceAccount: each of `may`, none of `mayNot`. */
    const assertGrants = (component: string, may: string[][], mayNot: string[][]) => {
      const sa = `system:serviceaccount:${release}:anshim-${component}`;
      const can = (verb: string, resource: string, namespace = release) =>
        tryKubectl(['auth', 'can-i', verb, resource, '-n', namespace, '--as', sa]).out.trim() === 'yes';
      for (const [verb, resource] of may) assert.ok(can(verb!, resource!), `${component}: ${verb} ${resource}`);
      for (const [verb, resource, namespace] of mayNot)
        assert.ok(
          !can(verb!, resource!, namespace),
          `${component} must not ${verb} ${resource} in ${namespace ?? release}`,
        );
    };

    test("the operator's ServiceAccount may do what the operator does, and no more", () => {
      assertGrants(
        'operator',
        [
          ['watch', 'messagingcampaigns.messaging.anshim.io'],
          ['patch', 'messagingcampaigns.messaging.anshim.io/status'],
          ['get', 'messagingfleets.messaging.anshim.io'],
          ['update', 'secrets'],
          ['create', 'deployments.apps'],
          ['create', 'configmaps'],
          ['create', 'events'],
          ['create', 'leases.coordination.k8s.io'],
          ['update', 'leases.coordination.k8s.io/anshim-operator'],
        ],
        [
          ['list', 'secrets'],
          ['watch', 'secrets'],
          ['get', 'secrets', 'default'],
          ['create', 'messagingcampaigns.messaging.anshim.io'],
          ['update', 'leases.coordination.k8s.io/someone-else'],
          ['create', 'pods'],
          ['list', 'messagingcampaigns.messaging.anshim.io', 'default'],
        ],
      );
      assertGrants('worker', [], [['get', 'secrets']]);
    });

    test("the gateway's ServiceAccount may check callers and read by name, and write no campaign", () => {
      assertGrants(
        'gateway',
        [
          ['create', 'tokenreviews.authentication.k8s.io'],
          ['create', 'subjectaccessreviews.authorization.k8s.io'],
          ['get', 'messagingcampaigns.messaging.anshim.io'],
          ['get', 'secrets'],
          ['patch', 'configmaps'],
        ],
        [
          ['patch', 'messagingcampaigns.messaging.anshim.io'],
          ['update', 'messagingcampaigns.messaging.anshim.io'],
          ['list', 'messagingcampaigns.messaging.anshim.io'],
          ['list', 'secrets'],
          ['watch', 'secrets'],
          ['create', 'secrets'],
          ['get', 'secrets', 'default'],
        ],
      );
    });

    test("with the chart's RBAC, keys and fleet the operator provisions a campaign and shreds it", async () => {
      // The operator process, as its pod runs it: the chart's KEK and signing key, the chart's ServiceAccount.
      const dir = mkdtempSync(join(tmpdir(), 'anshim-chart-op-'));
      const secret = (name: string, key: string) =>
        Buffer.from(
          kubectl(['get', 'secret', name, '-n', release, '-o', `jsonpath={.data.${key.replace('.', '\\.')}}`]),
          'base64',
        );
      const material = Buffer.from(secret('anshim-kek', 'kek').toString(), 'hex');
      const kek: TestKek = {
        dir,
        file: join(dir, 'kek'),
        id: secret('anshim-kek', 'id').toString(),
        provider: new NamespaceKekProvider(secret('anshim-kek', 'id').toString(), material),
      };
      writeFileSync(kek.file, material.toString('hex'), { mode: 0o600 });
      mkdirSync(join(dir, 'signing'));
      writeFileSync(join(dir, 'signing', 'key.pem'), secret('anshim-signing-key', 'key.pem'), { mode: 0o600 });
      const kubeconfig = join(dir, 'kubeconfig');
      const admin = readFileSync(requireStack().kubeconfig, 'utf8');
      assert.match(admin, /\n {4}client-key:/);
      writeFileSync(
        kubeconfig,
        admin.replace(
          /\n {4}client-key:/,
          `\n    as: system:serviceaccount:${release}:anshim-operator\n    client-key:`,
        ),
      );
      operator = startOperator('chart-operator-0', release, kek, { kubeconfig });

      kubectl(['apply', '-n', release, '-f', join(repoRoot, 'examples/campaign.yaml')]);
      await eventually(
        'the campaign provisioned by the chart-permissioned operator',
        async () => {
          const mc = JSON.parse(kubectl(['get', 'mc', 'weekend-promo', '-n', release, '-o', 'json']));
          const ready = (t: string) => mc.status?.conditions?.some((c: Json) => c.type === t && c.status === 'True');
          return ready('TopicsReady') && ready('WorkersReady') && mc.status.keyId ? true : undefined;
        },
        60_000,
      );
      const deployment = JSON.parse(
        kubectl(['get', 'deployment', 'anshim-worker-weekend-promo', '-n', release, '-o', 'json']),
      );
      const pod = deployment.spec.template.spec;
      assert.equal(pod.serviceAccountName, 'anshim-worker');
      assert.deepEqual(pod.volumes.map((v: { secret: { secretName: string } }) => v.secret.secretName).sort(), [
        'anshim-carrier-keys',
        'anshim-carrier-tls',
        'anshim-kafka-worker',
        'anshim-namespace-kek',
        'anshim-opt-out-key',
        'anshim-worker-weekend-promo',
      ]);
      assert.deepEqual(restrictedViolations(pod), []);
      // Through the API server (the CRD keeps and defaults the fleet's fields) into the operator's Deployment.
      assert.deepEqual(pod.imagePullSecrets, [{ name: 'anshim-worker-registry' }]);
      assert.deepEqual(scrapeWiring(deployment.spec.template), {
        port: METRICS_PORT,
        env: String(METRICS_PORT),
        annotations: SCRAPE_ANNOTATIONS,
      });
      const admitted = admitPod(release, 'probe-worker', pod);
      assert.ok(admitted.ok, admitted.err);

      await deleteCampaigns(release);
      const certificate = JSON.parse(
        kubectl(['get', 'configmap', 'anshim-destruction-weekend-promo', '-n', release, '-o', 'json']),
      );
      assert.match(certificate.data['certificate.json'], /anshim-operator@/);
      const dek = JSON.parse(kubectl(['get', 'secret', 'anshim-dek-weekend-promo', '-n', release, '-o', 'json']));
      assert.equal(dek.data, undefined, 'the wrapped data key is shredded');
      const log = readFileSync(operator.logFile, 'utf8');
      assert.doesNotMatch(log, /forbidden/i, 'no request of the operator was refused');
      assert.match(log, /became leader/);
    });

    test('upgrades keep every generated key; uninstall keeps the KEK and the signing key', () => {
      const generated = [
        'anshim-kek',
        'anshim-signing-key',
        'anshim-simulator-psk',
        'anshim-carrier-keys',
        'anshim-carrier-tls',
        'anshim-simulator-tls',
      ];
      const read = () => generated.map((s) => kubectl(['get', 'secret', s, '-n', release, '-o', 'jsonpath={.data}']));
      const before = read();
      const r = helm(['upgrade', RELEASE, CHART, '-n', release, '--reuse-values']);
      assert.ok(r.ok, r.err);
      assert.deepEqual(read(), before);
      const gone = helm(['uninstall', RELEASE, '-n', release]);
      assert.ok(gone.ok, gone.err);
      const left = kubectl(['get', 'secrets', '-n', release, '-l', 'app.kubernetes.io/instance=anshim', '-o', 'name']);
      assert.deepEqual(left.trim().split('\n').sort(), [
        'secret/anshim-kek',
        'secret/anshim-opt-out-key',
        'secret/anshim-signing-key',
      ]);
    });
  });
});
