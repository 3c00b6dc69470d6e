// The one entry behind `npm start`, `npm test` and `npm run stack`: on a fresh clone it
// installs dependencies first, then runs the TypeScript entry point through tsx.
// Plain JavaScript on purpose: it must run before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  start: 'scripts/start.ts',
  test: 'scripts/test.ts',
  stack: 'stack/src/cli.ts',
  'bench:dispatch': 'worker/bench/dispatch.bench.ts',
  'bench:prepare': 'worker/bench/prepare.bench.ts',
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

const [command, ...args] = process.argv.slice(2);
const entry = entries[command];
if (!entry) {
  console.error(`usage: node scripts/run.mjs <${Object.keys(entries).join('|')}> [args]`);
  process.exit(2);
}
ensureDependencies();
const child = spawnSync(process.execPath, ['--import', 'tsx', join(root, entry), ...args], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(child.status ?? (child.signal ? 1 : 0));
