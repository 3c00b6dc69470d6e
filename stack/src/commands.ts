import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { MissingToolError, StackError } from './errors.ts';

const INSTALL_HINTS: Record<string, string> = {
  go: 'install Go 1.23 or newer (https://go.dev/dl, or apt-get install golang-go)',
  java: 'install a Java 17+ runtime (apt-get install openjdk-17-jre-headless)',
  mvn: 'install Apache Maven (apt-get install maven)',
  openssl: 'install OpenSSL (apt-get install openssl)',
};

/** Fails with one clear line when a tool the stack needs is not installed. */
export function requireTool(tool: keyof typeof INSTALL_HINTS | string): void {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
  if (!found) throw new MissingToolError(tool, INSTALL_HINTS[tool] ?? `install ${tool}`);
}

/** Runs a command to completion with its output in `logFile`; rejects with a pointer to the log. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string; what: string },
): Promise<void> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const out = openSync(opts.logFile, 'a');
  return new Promise<void>((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', out, out],
    });
    child.on('error', (err) => reject(new StackError(`${opts.what}: ${err.message}`, opts.logFile)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolveRun();
      else reject(new StackError(`${opts.what} failed (${signal ?? `exit ${code}`})`, opts.logFile));
    });
  }).finally(() => closeSync(out));
}

/** Runs a short command and returns its stdout; throws with its stderr on failure. */
export function capture(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new StackError(
      `${command} ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`,
    );
  }
  return result.stdout;
}
