// Preloaded into every test file's process by scripts/test.ts. A file whose tests have all
// finished but whose process stays alive (a socket, timer or child process left open) would
// make the whole run wait for ever and end in the budget's kill, without saying which file it
// was. Once the file's tests are done this gives the process a grace period to exit; if it is
// still alive then, it prints what keeps it alive and exits non-zero, so the run fails naming
// the file. The timer is unref'd: it never keeps a process alive by itself.
import { after } from 'node:test';
import { basename } from 'node:path';

const graceMs = Number(process.env.ANSHIM_TEST_EXIT_GRACE_MS ?? 60_000);

// Only in a test file's own process (the runner sets NODE_TEST_CONTEXT for those), not in the
// runner that spawns them.
if (process.env.NODE_TEST_CONTEXT) {
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
  const sockets = handles
    .filter(
      (h): h is { remoteAddress?: string; remotePort?: number; localPort?: number } =>
        typeof h === 'object' && h !== null && 'remotePort' in h,
    )
    .filter((s) => s.remotePort !== undefined)
    .map((s) => `${s.remoteAddress}:${s.remotePort} (local ${s.localPort})`);
  return sockets.length > 0 ? `; sockets to ${sockets.join(', ')}` : '';
}
