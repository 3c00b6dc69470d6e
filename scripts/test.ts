// `npm test`: type-check, bring the local stack up if it is not (and take down only what
// this run started), then run every *.test.ts on Node's own test runner.
// `npm test -- --unit` runs the tests that need no stack; other arguments filter files by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { down, repoRoot, status, up } from '@anshim/dev-platform';

const SKIP_DIRS = new Set(['node_modules', '.git', '.stack', 'dist', 'generated']);

function findTests(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) findTests(join(dir, entry.name), out);
    } else if (entry.name.endsWith('.test.ts')) {
      out.push(relative(repoRoot, join(dir, entry.name)));
    }
  }
  return out;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unitOnly = args.includes('--unit');
  const filters = args.filter((a) => !a.startsWith('--'));
  let files = findTests(repoRoot).sort();
  if (unitOnly) files = files.filter((f) => !f.includes('.integration.'));
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));

  const typecheck = spawnSync(
    process.execPath,
    [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  if (typecheck.status !== 0) {
    console.error('[test] type errors: fix them first (npm run typecheck)');
    return 1;
  }

  const needsStack = files.some((f) => f.includes('.integration.'));
  let startedStack = false;
  if (needsStack && !(await status()).every((s) => s.healthy)) {
    const t0 = Date.now();
    await up((line) => console.log(`[stack] ${line}`));
    console.log(`[stack] up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    startedStack = true;
  }
  const stop = async (): Promise<void> => {
    if (startedStack) {
      startedStack = false;
      await down();
      console.log('[stack] stopped');
    }
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));
  try {
    // Files run side by side against the one stack (each test file names its own namespaces, topics
    // and groups); ANSHIM_TEST_CONCURRENCY=1 runs them one at a time. A run that outlives its budget
    // has a file that never exits (a handle left open): it is stopped and said so, not waited on for ever.
    // A test that waits on a condition that never comes fails by name at its own timeout first, long
    // before the budget, so the run says which one it was.
    const concurrency = Number(process.env.ANSHIM_TEST_CONCURRENCY ?? 3);
    const testTimeoutMs = Number(process.env.ANSHIM_TEST_TIMEOUT_MS ?? 10 * 60_000);
    const budgetMs = Number(process.env.ANSHIM_TEST_BUDGET_MS ?? 40 * 60_000);
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        // Each file's process: a file that finishes but does not exit fails by name (see the file).
        '--import',
        join(repoRoot, 'scripts/test-exit-watch.ts'),
        '--test',
        `--test-concurrency=${concurrency}`,
        `--test-timeout=${testTimeoutMs}`,
        ...files,
      ],
      { cwd: repoRoot, stdio: 'inherit', timeout: budgetMs, killSignal: 'SIGKILL' },
    );
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
      console.error(`[test] the run took longer than ${budgetMs / 60_000} min: a test file did not exit; stopped`);
    return run.status ?? 1;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
