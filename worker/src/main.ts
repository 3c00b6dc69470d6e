// The worker process: `ANSHIM_WORKER_CONFIG=/etc/anshim/worker.json node worker/dist/main.mjs`
// (the bundle bundle.ts builds, as the image runs it), or `node --import tsx worker/src/main.ts`.
import { aeadEngine, createLogger } from '@anshim/core';
import { startTelemetry, telemetryOptionsFromEnv } from '@anshim/telemetry';
import { loadWorkerFile } from './config-file.ts';
import { poolTaskFile } from './pool.ts';
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
  const worker = new MessagingWorker(
    { ...config, poolTaskFile: poolTaskFile(import.meta.url) },
    { campaigns, keys, log },
  );
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
  // aead: which AES-GCM engine seals (native, or the slower node:crypto fallback).
  console.log(
    JSON.stringify({ ready: true, workerId: config.workerId, metrics: telemetry.metricsUrl, aead: aeadEngine }),
  );
} catch (err) {
  log.error({ err: (err as Error).message, kind: (err as Error).name }, 'worker failed to start');
  process.exit(1);
}
