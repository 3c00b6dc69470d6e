// One call per process: metrics for Prometheus on /metrics, traces to OTLP/HTTP and/or a
// JSON-lines file, W3C propagation, all registered as the process's OpenTelemetry globals.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, propagation, trace, type Meter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { guardValue, onRefusal } from './guard.ts';
import { guardedCounter } from './instruments.ts';
import { hotInstrumentsProducer } from './hot-instruments.ts';
import { GuardedSpanExporter, JsonLinesSpanExporter } from './span-export.ts';

export interface TelemetryOptions {
  /** service.name: anshim-worker, anshim-operator, anshim-gateway, … */
  service: string;
  /** service.instance.id (a pod name, a worker id). */
  instance?: string;
  /** Serve Prometheus text on http://<metricsHost>:<metricsPort>/metrics; 0 picks a free port. Absent: no endpoint. */
  metricsPort?: number;
  /** Interface to listen on (default: all, as a pod needs; tests pass 127.0.0.1). */
  metricsHost?: string;
  /** Append finished spans here as JSON lines. */
  traceFile?: string;
  /** OTLP/HTTP collector: a base URL (…:4318) or the full …/v1/traces URL. */
  otlpEndpoint?: string;
}

export interface Telemetry {
  readonly meter: Meter;
  readonly tracer: Tracer;
  /** Where Prometheus scrapes, when metricsPort was given. */
  readonly metricsUrl?: string;
  readonly metricsPort?: number;
  /** Writes out every finished span (tests call it before reading the trace file). */
  flush(): Promise<void>;
  /** Flushes, stops the endpoint and unregisters the globals (startTelemetry may be called again). */
  shutdown(): Promise<void>;
}

let running = false;

/**
 * Starts OpenTelemetry for this process and registers it globally, so instrumented code
 * that asks `@opentelemetry/api` for a meter or tracer gets these. Tracing is on when a
 * trace file or an OTLP endpoint is given; otherwise spans are not recorded at all.
 */
export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  if (running) throw new Error('telemetry is already started in this process: call shutdown() first');
  running = true;
  const resource = resourceFromAttributes({
    'service.name': guardValue(opts.service),
    ...(opts.instance ? { 'service.instance.id': guardValue(opts.instance) } : {}),
  });

  let server: Server | undefined;
  let metricsPort: number | undefined;
  const readers: PrometheusExporter[] = [];
  if (opts.metricsPort !== undefined) {
    const exporter = new PrometheusExporter({
      preventServerStart: true,
      withoutScopeInfo: true,
      metricProducers: [hotInstrumentsProducer],
    });
    readers.push(exporter);
    server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') exporter.getMetricsRequestHandler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(opts.metricsPort, opts.metricsHost, () => resolve());
    });
    metricsPort = (server.address() as AddressInfo).port;
  }
  const meterProvider = new MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(meterProvider);
  const meter = meterProvider.getMeter('@anshim/telemetry');
  const redactions = guardedCounter(meter, 'anshim_telemetry_redactions_total', {
    description: 'Attribute or label values refused by the personal-data guard (by reason), and keys not allowed',
    labels: ['reason', 'signal'],
  });
  onRefusal((reason, signal) => redactions.add(1, { reason, signal }));

  const processors: SpanProcessor[] = [];
  if (opts.traceFile) {
    processors.push(
      new BatchSpanProcessor(new GuardedSpanExporter(new JsonLinesSpanExporter(opts.traceFile)), {
        scheduledDelayMillis: 200,
      }),
    );
  }
  if (opts.otlpEndpoint) {
    const url = /\/v1\/traces\/?$/.test(opts.otlpEndpoint)
      ? opts.otlpEndpoint
      : `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new GuardedSpanExporter(new OTLPTraceExporter({ url }))));
  }
  let tracerProvider: NodeTracerProvider | undefined;
  if (processors.length > 0) {
    tracerProvider = new NodeTracerProvider({ resource, spanProcessors: processors });
    // Trace context only: baggage could carry whatever a caller put in it.
    tracerProvider.register({ propagator: new W3CTraceContextPropagator() });
  }
  const tracer = trace.getTracer('@anshim/telemetry');

  const host =
    !opts.metricsHost || opts.metricsHost === '0.0.0.0' || opts.metricsHost === '::' ? '127.0.0.1' : opts.metricsHost;
  let stopped = false;
  return {
    meter,
    tracer,
    metricsPort,
    metricsUrl: metricsPort !== undefined ? `http://${host}:${metricsPort}/metrics` : undefined,
    flush: async () => {
      await tracerProvider?.forceFlush();
    },
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      await tracerProvider?.shutdown();
      await meterProvider.shutdown();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      onRefusal(undefined);
      trace.disable();
      metrics.disable();
      context.disable();
      propagation.disable();
      running = false;
    },
  };
}

/**
 * Options from the environment, as the chart sets them: ANSHIM_METRICS_PORT,
 * ANSHIM_METRICS_HOST, ANSHIM_TRACE_FILE, and OpenTelemetry's own
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT.
 */
export function telemetryOptionsFromEnv(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
  instance?: string,
): TelemetryOptions {
  const port = env.ANSHIM_METRICS_PORT ? Number(env.ANSHIM_METRICS_PORT) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`ANSHIM_METRICS_PORT must be a port number, not '${env.ANSHIM_METRICS_PORT}'`);
  }
  return {
    service,
    instance,
    metricsPort: port,
    metricsHost: env.ANSHIM_METRICS_HOST || undefined,
    traceFile: env.ANSHIM_TRACE_FILE || undefined,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
  };
}
