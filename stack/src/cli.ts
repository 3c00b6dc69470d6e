import { down, status, up, install, restartKafka } from './stack.ts';
import { cacheDir } from './paths.ts';
import { MissingToolError, StackError } from './errors.ts';
import { printEndpoints } from './endpoints.ts';
import { ensurePrometheus } from './prometheus.ts';

const USAGE = `usage: npm run stack -- <command>
  up        install what is missing (cached in ${cacheDir()}), start Kafka, etcd, kube-apiserver and OpenBao (the KMS)
  down      stop what 'up' started (by pid) and remove its data; --keep keeps the data
  status    show each service, its pid and whether it answers
  install   only build/fetch the binaries and jars into the cache
  restart-kafka   restart the broker on the same port and data
  install-prometheus   fetch Prometheus into the cache (tests start their own; 'up' does not)`;

const say = (line: string): void => console.log(`[stack] ${line}`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const started = Date.now();
      const state = await up(say);
      say(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      printEndpoints(state);
      return 0;
    }
    case 'down':
      await down({ keep: rest.includes('--keep') });
      say('stopped');
      return 0;
    case 'install':
      await install(say);
      say('installed');
      return 0;
    case 'install-prometheus':
      say(`prometheus at ${await ensurePrometheus(say)}`);
      return 0;
    case 'restart-kafka':
      await restartKafka();
      say('kafka restarted');
      return 0;
    case 'status': {
      const rows = await status();
      for (const r of rows) {
        console.log(
          `${r.name.padEnd(15)} ${(r.healthy ? 'healthy' : r.running ? 'running, not answering' : 'stopped').padEnd(24)} ${String(r.pid ?? '-').padEnd(8)} ${r.endpoint}`,
        );
      }
      return rows.every((r) => r.healthy) ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof MissingToolError || err instanceof StackError) console.error(`[stack] ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
