// The key figures of a k6 `--summary-export` file. In that format a threshold's boolean says
// whether it was crossed: `true` means failed.
import { readFileSync } from 'node:fs';

interface ExportedMetric {
  count?: number;
  rate?: number;
  value?: number;
  passes?: number;
  fails?: number;
  med?: number;
  'p(95)'?: number;
  'p(99)'?: number;
  thresholds?: Record<string, boolean>;
}

export interface Figures {
  requests: number;
  requestsPerSecond: number;
  latencyMs: { metric: string; p50: number; p95: number; p99: number };
  errorRate: number;
  checksRate: number;
  droppedIterations: number;
  thresholds: Array<{ metric: string; expression: string; passed: boolean }>;
  thresholdsPassed: boolean;
}

/** k6's trend statistics the runner asks for, so that p50/p95/p99 are in the export. */
export const TREND_STATS = 'avg,min,med,max,p(95),p(99)';

export function figuresFrom(exported: { metrics: Record<string, ExportedMetric> }, latencyMetric: string): Figures {
  const m = exported.metrics;
  const latency = m[latencyMetric] ?? m['http_req_duration'] ?? {};
  const thresholds = Object.entries(m).flatMap(([metric, v]) =>
    Object.entries(v.thresholds ?? {}).map(([expression, crossed]) => ({ metric, expression, passed: !crossed })),
  );
  return {
    requests: m['http_reqs']?.count ?? 0,
    requestsPerSecond: m['http_reqs']?.rate ?? 0,
    latencyMs: {
      metric: latencyMetric,
      p50: latency.med ?? NaN,
      p95: latency['p(95)'] ?? NaN,
      p99: latency['p(99)'] ?? NaN,
    },
    errorRate: m['http_req_failed']?.value ?? 0,
    checksRate: m['checks']?.value ?? 0,
    droppedIterations: m['dropped_iterations']?.count ?? 0,
    thresholds,
    thresholdsPassed: thresholds.every((t) => t.passed),
  };
}

export function readFigures(file: string, latencyMetric: string): Figures {
  return figuresFrom(
    JSON.parse(readFileSync(file, 'utf8')) as { metrics: Record<string, ExportedMetric> },
    latencyMetric,
  );
}

export function formatFigures(f: Figures): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  return [
    `requests        ${f.requests} (${f.requestsPerSecond.toFixed(1)} req/s), dropped iterations ${f.droppedIterations}`,
    `latency         p50 ${ms(f.latencyMs.p50)}  p95 ${ms(f.latencyMs.p95)}  p99 ${ms(f.latencyMs.p99)}  (${f.latencyMs.metric})`,
    `error rate      ${(f.errorRate * 100).toFixed(2)} %   checks ${(f.checksRate * 100).toFixed(2)} %`,
    ...f.thresholds.map((t) => `threshold       ${t.passed ? 'pass' : 'FAIL'}  ${t.metric}: ${t.expression}`),
  ].join('\n');
}
