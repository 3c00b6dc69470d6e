// Child processes of the quick start: started with a log file, ready when they print a JSON
// line with "ready", and stopped by their own pid (SIGTERM, then SIGKILL after a grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Started<T> {
  name: string;
  child: ChildProcess;
  ready: T;
  logFile: string;
}

export async function startProcess<T = Record<string, unknown>>(
  name: string,
  args: string[],
  opts: {
    cwd: string;
    logFile: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** Which stdout line says ready (default: a JSON line with "ready"). */
    isReady?: (line: string) => boolean;
  },
): Promise<Started<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches us, and we stop it in order.
    detached: true,
  });
  const log = createWriteStream(opts.logFile, { flags: 'a', mode: 0o600 });
  child.stderr!.pipe(log);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not ready in time: stop it here, since the caller never gets a handle to stop it.
      child.kill('SIGTERM');
      reject(new Error(`${name} did not get ready within ${(opts.timeoutMs ?? 60_000) / 1000}s; see ${opts.logFile}`));
    }, opts.timeoutMs ?? 60_000);

    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready; see ${opts.logFile}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!(opts.isReady ?? ((l: string) => l.includes('"ready"')))(line)) return;
      try {
        const ready = JSON.parse(line) as T;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ name, child, ready, logFile: opts.logFile });
      } catch {
        /* a log line that mentions ready */
      }
    });
  });
}

export async function stopProcess(p: { child: ChildProcess }, graceMs = 15_000): Promise<void> {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
