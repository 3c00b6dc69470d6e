import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { PrepareTaskInput, PrepareTaskOutput } from './task.ts';

/** Names a prebuilt pool task file; unset, the pool runs task.ts (or the bundle's own task). */
export const POOL_TASK_ENV = 'ANSHIM_POOL_TASK';
/** Replaced by the bundler (bundle.ts) with the bundled task's path relative to main.mjs. */
export const BUNDLED_POOL_TASK_DEFINE = 'process.env.ANSHIM_BUNDLED_POOL_TASK';

/**
 * The pool task a worker process runs: ANSHIM_POOL_TASK, else the task.cjs beside a bundled
 * main.mjs (`mainUrl` is the entry point's import.meta.url), else undefined: task.ts via tsx.
 */
export function poolTaskFile(mainUrl: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[POOL_TASK_ENV]) return env[POOL_TASK_ENV];
  // A literal member expression on purpose: esbuild's define replaces exactly this text.
  const bundled = process.env.ANSHIM_BUNDLED_POOL_TASK;
  return bundled ? fileURLToPath(new URL(bundled, mainUrl)) : undefined;
}

export interface PreparePoolOptions {
  threads?: number;
  /** A prebuilt task (see bundle.ts): threads then run it without the TypeScript loader. */
  taskFile?: string;
}

/**
 * A task allocates about 1 MB that dies with it and keeps a few MB alive between tasks (keys,
 * modules), but left to itself V8 lets each thread's heap grow to ~90 MB under load. These
 * limits make threads collect sooner. bench:dispatch, 1M records, 2 threads: worker RSS
 * 356–361 → 309 MB for 19.5–20.5k → 19.0k msg/s. A chunk is 500 records of a few hundred
 * bytes, so the old generation keeps 20× headroom over a task's live data.
 */
const THREAD_YOUNG_GENERATION_MB = 8;
const THREAD_OLD_GENERATION_MB = 64;

/** The worker's thread pool: opening, rendering and re-sealing run here, off the event loop. */
export class PreparePool {
  private readonly piscina: Piscina;

  constructor(opts: PreparePoolOptions = {}) {
    // The event loop (Kafka fetches, gRPC streams, acks) is the busier side: leave it a core.
    const threads = opts.threads ?? Math.max(1, availableParallelism() - 1);
    this.piscina = new Piscina({
      filename: opts.taskFile ? pathToFileURL(opts.taskFile).href : new URL('./task.ts', import.meta.url).href,
      // Without --import tsx from the parent: the bundle is JavaScript already.
      ...(opts.taskFile ? { execArgv: [] } : {}),
      resourceLimits: {
        maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: THREAD_OLD_GENERATION_MB,
      },
      minThreads: threads,
      maxThreads: threads,
      // Each task is a chunk of a Kafka fetch, so Kafka's fetch size already bounds the queue.
      maxQueue: Infinity,
      idleTimeout: 60_000,
    });
  }

  run(input: PrepareTaskInput): Promise<PrepareTaskOutput> {
    return this.piscina.run(input, {
      transferList: [input.records.bytes.buffer as ArrayBuffer],
    }) as Promise<PrepareTaskOutput>;
  }

  /** Share of the pool's capacity spent running tasks (piscina's measure, 0–1). */
  get utilization(): number {
    return this.piscina.utilization;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
