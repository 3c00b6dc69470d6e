// Builds the worker into plain JavaScript, as the worker image runs it (Dockerfile):
//   main.mjs  the process: our workspace code in one file; npm packages stay imports,
//             resolved from node_modules at run time.
//   task.cjs  the pool task and everything it imports but piscina and the AEAD addon.
// Without it a worker runs TypeScript through tsx: a loader thread of its own and a copy of
// the loader in every pool thread (bench:dispatch: worker RSS 321 → 276 MB).
// Both files must sit where node_modules resolves (under the repository, or /app in the image).
//   node --import tsx worker/src/bundle.ts <out-dir>
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { BUNDLED_POOL_TASK_DEFINE } from './pool.ts';

export { WORKER_BUNDLE_MAIN, WORKER_COMMAND } from '@anshim/api';
export const BUNDLED_TASK_FILE = 'task.cjs';

const source = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

// Workspace packages (TypeScript) go into the bundle; npm packages and the addon, which finds
// its .node file next to itself, stay imports.
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@anshim/') && args.path !== '@anshim/aead-native'
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

export async function buildTaskBundle(outfile: string): Promise<string> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [source('./task.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    // The thread's piscina runtime must recognise the task's Piscina.move(): one module, not a
    // bundled copy. The AEAD addon finds its .node file relative to its package.
    external: ['piscina', '@anshim/aead-native'],
  });
  return outfile;
}

/** Builds main.mjs and task.cjs into `outDir` (written aside and renamed, so a reader never sees half a file). */
export async function buildWorkerBundle(outDir: string): Promise<{ main: string; task: string }> {
  const esbuild = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  const scratch = join(outDir, `.build-${randomBytes(4).toString('hex')}`);
  try {
    await buildTaskBundle(join(scratch, BUNDLED_TASK_FILE));
    await esbuild.build({
      entryPoints: [source('./main.ts')],
      outfile: join(scratch, 'main.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      plugins: [npmPackagesExternal],
      // Tells main.ts that its pool task is the task.cjs beside it.
      define: { [BUNDLED_POOL_TASK_DEFINE]: JSON.stringify(`./${BUNDLED_TASK_FILE}`) },
    });
    const main = join(outDir, 'main.mjs');
    const task = join(outDir, BUNDLED_TASK_FILE);
    renameSync(join(scratch, BUNDLED_TASK_FILE), task);
    renameSync(join(scratch, 'main.mjs'), main);
    return { main, task };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node --import tsx worker/src/bundle.ts <out-dir>');
    process.exit(2);
  }
  const { main, task } = await buildWorkerBundle(out);
  console.log(`${main}\n${task}`);
}
