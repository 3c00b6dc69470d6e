// The worker process: `ANSHIM_WORKER_CONFIG=/etc/anshim/worker.json node --import tsx worker/src/main.ts`.
import { createLogger } from '@anshim/core';
import { startTelemetry, telemetryOptionsFromEnv } from '@anshim/telemetry';
import { loadWorkerFile } from './config-file.ts';
import { POOL_TASK_ENV } from './task-bundle.ts';
import { MessagingWorker } from './worker.ts';

const log = createLogger('worker');
const path = process.env.ANSHIM_WORKER_CONFIG;
if (!path) {
  log.error('ANSHIM_WORKER_CONFIG is not set: point it at the worker configuration file');
  process.exit(2);
}
try {
  const { config, campaigns, keys } = await loadWorkerFile(path);
  // ANSHIM_METRICS_PORT serves /metrics; ANSHIM_TRACE_FILE / OTEL_EXPORTER_OTLP_ENDPOINT export spans.
  const telemetry = await startTelemetry(telemetryOptionsFromEnv('anshim-worker', process.env, config.workerId));
  const poolTaskFile = process.env[POOL_TASK_ENV] || undefined;
  const worker = new MessagingWorker({ ...config, poolTaskFile }, { campaigns, keys, log });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining before exit');
    worker.stop().then(
      async () => {
        await telemetry.shutdown().catch(() => undefined);
        console.log(JSON.stringify({ stopped: true, ...worker.stats() }));
        process.exit(0);
      },
      (err: Error) => {
        log.error({ err: err.message }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await worker.start();
  // Where /metrics is (when ANSHIM_METRICS_PORT is set; port 0 picks one): the local runner records it for Prometheus.
  console.log(JSON.stringify({ ready: true, workerId: config.workerId, metrics: telemetry.metricsUrl }));
} catch (err) {
  log.error({ err: (err as Error).message, kind: (err as Error).name }, 'worker failed to start');
  process.exit(1);
}
