// Builds the pool task (task.ts and what it imports) into one CommonJS file, so pool threads
// run plain JavaScript: without it each thread loads the TypeScript loader too, about 25 MB
// per thread. The worker image builds it at image build time and sets ANSHIM_POOL_TASK;
// the dispatch benchmark builds it into its scratch directory.
//   node --import tsx worker/src/task-bundle.ts <out.cjs>
import { fileURLToPath } from 'node:url';

/** Where the worker looks for a prebuilt task (unset: pool threads load task.ts through tsx). */
export const POOL_TASK_ENV = 'ANSHIM_POOL_TASK';

export async function buildTaskBundle(outfile: string): Promise<string> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./task.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    // The thread's piscina runtime must recognise the task's Piscina.move(): one module, not a
    // bundled copy. So the file must sit where require('piscina') resolves (under the repo or /app).
    external: ['piscina'],
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node --import tsx worker/src/task-bundle.ts <out.cjs>');
    process.exit(2);
  }
  await buildTaskBundle(out);
  console.log(out);
}
