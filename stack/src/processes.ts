import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.ts';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
}

/** Starts a long-lived process detached from this one, output appended to its log file. */
export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new StackError(`${spec.name} did not start`, spec.logFile);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** True when `pid` is still the process we started (its command line names `marker`), not a reused pid. */
export function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const cmdlinePath = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdlinePath)) return true;
  return readFileSync(cmdlinePath, 'utf8').includes(marker);
}

/** Stops one process we started: SIGTERM, then SIGKILL after `graceMs`. Never by name. */
export async function stopPid(pid: number, marker: string, graceMs = 15_000): Promise<void> {
  if (!isOurs(pid, marker)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (isAlive(pid)) await sleep(50);
}

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new StackError('could not allocate a free port'));
      });
    });
  });
}

/** Polls `probe` until it returns true; fails with the log's tail when the process dies or time runs out. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; pid?: number; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new StackError(`${what} exited during start-up:\n${tail(opts.logFile)}`, opts.logFile);
    }
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new StackError(`${what} was not ready after ${opts.timeoutMs / 1000}s:\n${tail(opts.logFile)}`, opts.logFile);
}

function tail(logFile: string | undefined, lines = 15): string {
  if (!logFile || !existsSync(logFile)) return '';
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
