import { context, trace, SpanStatusCode, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR, type SpanSpec } from './conventions.ts';

/**
 * Runs `fn` inside a span made from `spec` (active for everything `fn` awaits), ends it,
 * and on a throw marks it as an error with the error's class name only: an error's
 * message may quote a value, so it is never recorded.
 */
export async function inSpan<T>(
  tracer: Tracer,
  spec: SpanSpec,
  fn: (span: Span) => Promise<T>,
  opts: { parent?: Context; links?: Link[] } = {},
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(spec.name, { kind: spec.kind, attributes: spec.attributes, links: opts.links }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    markFailed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks a span failed by the error's class only, as inSpan does (for spans ended by hand). */
export function markFailed(span: Span, err: unknown): void {
  span.setAttribute(ATTR.errorType, err instanceof Error ? err.name : typeof err);
  span.setStatus({ code: SpanStatusCode.ERROR });
}
