// The standalone simulator process: starts the configured carriers and the admin API,
// prints one JSON line with their ports when ready, and closes cleanly on SIGTERM/SIGINT.
import { createLogger } from '@anshim/core';
import { startTelemetry, telemetryOptionsFromEnv } from '@anshim/telemetry';
import { parseConfig, USAGE, type SimulatorConfig } from './config.ts';
import { SimulatorError } from './errors.ts';
import { startSimulatorFleet } from './fleet.ts';

// stdout carries only the ready line; logs go to stderr.
const log = createLogger('simulator', { destination: process.stderr });

async function main(): Promise<void> {
  let config: SimulatorConfig;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  // Optional, as in every process: ANSHIM_TRACE_FILE / OTEL_EXPORTER_OTLP_ENDPOINT make the carrier hop a span.
  const telemetry = await startTelemetry(telemetryOptionsFromEnv('anshim-simulator'));
  const { ready, stop } = await startSimulatorFleet(config, log);
  process.stdout.write(JSON.stringify(ready) + '\n');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping simulators');
    stop()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'stop failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  log.error({ err: error, reason: error instanceof SimulatorError ? error.reason : undefined }, 'simulator failed');
  process.exit(1);
});
