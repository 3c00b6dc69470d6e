// Span export: a guard in front of every exporter, and a JSON-lines file exporter for tests,
// local runs and the canary scan (one finished span a line).
import { appendFile } from 'node:fs/promises';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SPAN_ATTRIBUTE_KEYS, spanFamilyOf } from './conventions.ts';
import { guardAttributes, guardValue } from './guard.ts';

/**
 * A copy of `span` fit for export: attributes allow-listed for its kind (messaging, rpc,
 * http, internal), every value guarded, event and link attributes reduced to what is
 * allowed, and the name and status message guarded too.
 */
export function sanitizeSpan(span: ReadableSpan): ReadableSpan {
  const allowed = SPAN_ATTRIBUTE_KEYS[spanFamilyOf(span.attributes)];
  return {
    name: guardValue(span.name),
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status.message ? { ...span.status, message: guardValue(span.status.message) } : span.status,
    attributes: guardAttributes(span.attributes, allowed),
    links: span.links.map((l) => ({
      context: l.context,
      attributes: guardAttributes(l.attributes, SPAN_ATTRIBUTE_KEYS.link),
    })),
    events: span.events.map((e) => ({
      ...e,
      name: guardValue(e.name),
      attributes: guardAttributes(e.attributes, SPAN_ATTRIBUTE_KEYS.event),
    })),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Wraps any exporter so that nothing reaches it unguarded. */
export class GuardedSpanExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans.map(sanitizeSpan), resultCallback);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** One line of a span file. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: keyof typeof SpanKind;
  startTimeMs: number;
  durationMs: number;
  status: { code: keyof typeof SpanStatusCode; message?: string };
  attributes: Attributes;
  links: Array<{ traceId: string; spanId: string }>;
  events: Array<{ name: string; attributes?: Attributes }>;
  service?: string;
  scope: string;
}

export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const sc = span.spanContext();
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: SpanKind[span.kind] as keyof typeof SpanKind,
    startTimeMs: hrTimeToMilliseconds(span.startTime),
    durationMs: hrTimeToMilliseconds(span.duration),
    status: {
      code: SpanStatusCode[span.status.code] as keyof typeof SpanStatusCode,
      ...(span.status.message ? { message: span.status.message } : {}),
    },
    attributes: span.attributes,
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    events: span.events.map((e) => ({ name: e.name, ...(e.attributes ? { attributes: e.attributes } : {}) })),
    service: span.resource.attributes['service.name'] as string | undefined,
    scope: span.instrumentationScope.name,
  };
}

/** Appends finished spans to a file as JSON lines (wrap it in GuardedSpanExporter; startTelemetry does). */
export class JsonLinesSpanExporter implements SpanExporter {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const text = spans.map((s) => JSON.stringify(toSpanRecord(s)) + '\n').join('');
    this.writing = this.writing
      .then(() => appendFile(this.file, text, { mode: 0o600 }))
      .then(
        () => resultCallback({ code: ExportResultCode.SUCCESS }),
        (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
      );
  }

  forceFlush(): Promise<void> {
    return this.writing;
  }

  shutdown(): Promise<void> {
    return this.writing;
  }
}

/** Reads a span file written by JsonLinesSpanExporter (empty when it does not exist yet). */
export function readSpanFile(file: string): SpanRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as SpanRecord);
}
