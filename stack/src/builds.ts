import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { binaries, cacheDir, repoRoot } from './paths.ts';
import { requireTool, run } from './commands.ts';
import { VERSIONS } from './versions.ts';

export type Report = (line: string) => void;

const goEnv = (): NodeJS.ProcessEnv => ({ GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' });
const buildLog = (name: string): string => join(cacheDir(), 'logs', `build-${name}.log`);

/** Builds into a temporary name and renames, so an interrupted build never leaves a broken binary. */
async function ensureBinary(name: string, target: string, build: (tmpOut: string) => Promise<void>, report: Report) {
  if (existsSync(target)) return;
  const started = Date.now();
  report(`building ${name} (first run only; cached in ${dirname(target)})`);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.partial`;
  rmSync(tmp, { force: true });
  await build(tmp);
  renameSync(tmp, target);
  report(`built ${name} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}

function kubeLdflags(): string {
  // A plain `go build` reports v0.0.0-master; kubectl and Helm's kubeVersion checks need the real one.
  const [major, minor] = VERSIONS.kubernetes.split('.');
  const v = `v${VERSIONS.kubernetes}`;
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => [`-X ${pkg}.gitVersion=${v}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`])
    .concat(['-X k8s.io/component-base/version.gitTreeState=clean', '-s', '-w'])
    .join(' ');
}

function goBuild(moduleDir: string, pkg: string, out: string, ldflags: string, name: string): Promise<void> {
  return run('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', out, pkg], {
    cwd: join(repoRoot, 'stack', 'go', moduleDir),
    env: goEnv(),
    logFile: buildLog(name),
    what: `go build ${pkg}`,
  });
}

function goInstall(pkgAtVersion: string, out: string, name: string): Promise<void> {
  const bin = join(dirname(out), 'gobin');
  return run('go', ['install', '-trimpath', '-ldflags', '-s -w', pkgAtVersion], {
    env: { ...goEnv(), GOBIN: bin },
    logFile: buildLog(name),
    what: `go install ${pkgAtVersion}`,
  }).then(() => {
    renameSync(join(bin, name), out);
    rmSync(bin, { recursive: true, force: true });
  });
}

export async function ensureKubernetesBinaries(report: Report): Promise<void> {
  requireTool('go');
  await ensureBinary(
    'kube-apiserver',
    binaries.kubeApiserver(),
    (out) => goBuild('kube', 'k8s.io/kubernetes/cmd/kube-apiserver', out, kubeLdflags(), 'kube-apiserver'),
    report,
  );
  await ensureBinary(
    'kubectl',
    binaries.kubectl(),
    (out) => goBuild('kube', 'k8s.io/kubernetes/cmd/kubectl', out, kubeLdflags(), 'kubectl'),
    report,
  );
}

export async function ensureEtcd(report: Report): Promise<void> {
  requireTool('go');
  await ensureBinary('etcd', binaries.etcd(), (out) => goBuild('etcd', '.', out, '-s -w', 'etcd'), report);
}

export async function ensureK6AndHelm(report: Report): Promise<void> {
  requireTool('go');
  await ensureBinary('k6', binaries.k6(), (out) => goInstall(`go.k6.io/k6@v${VERSIONS.k6}`, out, 'k6'), report);
  await ensureBinary(
    'helm',
    binaries.helm(),
    (out) => goInstall(`helm.sh/helm/v3/cmd/helm@v${VERSIONS.helm}`, out, 'helm'),
    report,
  );
}

/** Resolves the official Apache Kafka jars from Maven Central into the cache. */
export async function ensureKafkaJars(report: Report): Promise<void> {
  const libs = binaries.kafkaLibs();
  if (existsSync(join(libs, `kafka_2.13-${VERSIONS.kafka}.jar`))) return;
  requireTool('java');
  requireTool('mvn');
  const started = Date.now();
  report(`resolving Kafka ${VERSIONS.kafka} jars with Maven (first run only)`);
  const tmp = `${libs}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  await run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(repoRoot, 'stack', 'kafka', 'pom.xml'),
      'dependency:copy-dependencies',
      `-Dkafka.version=${VERSIONS.kafka}`,
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ],
    { logFile: buildLog('kafka'), what: 'mvn dependency:copy-dependencies (Kafka jars)' },
  );
  rmSync(libs, { recursive: true, force: true });
  renameSync(tmp, libs);
  report(`resolved Kafka jars in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}
