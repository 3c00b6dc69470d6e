// Preloaded into every test file's process by scripts/test.ts. A file whose tests have all
// finished but whose process stays alive (a socket, timer or child process left open) would
// make the whole run wait for ever and end in the budget's kill, without saying which file it
// was. Once the file's tests are done this gives the process a grace period to exit; if it is
// still alive then, it prints what keeps it alive and exits non-zero, so the run fails naming
// the file. The timer is unref'd: it never keeps a process alive by itself.
import { after } from 'node:test';
import { createHook } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { stateFile } from '../stack/src/paths.ts';

const graceMs = Number(process.env.ANSHIM_TEST_EXIT_GRACE_MS ?? 60_000);

// Where each TCP socket was opened, so a leaked one names the code that opened it and not only
// its port. Only TCP handles are recorded: they are few, and a stack each costs microseconds.
const openedAt = new WeakMap<object, string>();

// Only in a test file's own process (the runner sets NODE_TEST_CONTEXT for those), not in the
// runner that spawns them.
if (process.env.NODE_TEST_CONTEXT) {
  createHook({
    init(_id, type, _trigger, resource) {
      if (type !== 'TCPWRAP') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 40;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      openedAt.set(
        resource,
        stack
          .split('\n')
          .slice(1)
          .filter((l) => !l.includes('node:') && !l.includes('test-exit-watch'))
          .slice(0, 12)
          .join('\n'),
      );
    },
  }).enable();
  after(() => {
    setTimeout(() => {
      const file = process.argv.find((a) => a.endsWith('.test.ts')) ?? process.argv.join(' ');
      const resources = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      console.error(
        `[test] ${basename(file)}: every test finished ${graceMs / 1000}s ago but the process did not exit; ` +
          `still open: ${resources.join(', ') || '(nothing reported)'}${describeHandles()}`,
      );
      process.exit(1);
    }, graceMs).unref();
  });
}

// getActiveResourcesInfo() names only the kinds; a leaked socket's peer port says which client
// left it open (Kafka's 9092, a carrier simulator's, the API server's). The handle list is
// Node's undocumented _getActiveHandles: a diagnostic only, so its absence is tolerated.
function describeHandles(): string {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const peers = stackPorts();
  const sockets = handles
    .filter(
      (h): h is { remoteAddress?: string; remotePort?: number; localPort?: number; _handle?: object } =>
        typeof h === 'object' && h !== null && 'remotePort' in h,
    )
    .filter((s) => s.remotePort !== undefined)
    .map((s) => {
      const peer = peers.get(s.remotePort!);
      const where = s._handle ? openedAt.get(s._handle) : undefined;
      return (
        `${s.remoteAddress}:${s.remotePort}${peer ? ` (${peer})` : ''} (local ${s.localPort})` +
        (where ? `, opened at\n${where}` : '')
      );
    });
  return sockets.length > 0 ? `; sockets to ${sockets.join(';\n')}` : '';
}

// The local stack's ports by component (Kafka, the API server, etcd, the KMS), read from the
// state file the stack writes; empty when there is none.
function stackPorts(): Map<number, string> {
  const ports = new Map<number, string>();
  try {
    const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as Record<string, unknown>;
    for (const [component, value] of Object.entries(state)) {
      for (const match of JSON.stringify(value).matchAll(/127\.0\.0\.1:(\d+)/g)) ports.set(Number(match[1]), component);
    }
  } catch {
    // No stack state: the peer is named by port only.
  }
  return ports;
}
