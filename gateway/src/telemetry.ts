// The gateway's spans: a server span per HTTP request (route template, method, status code,
// campaign id) and a `send <topic>` producer span per produce: one per single message, one
// per upload batch. Each record carries its send span's traceparent in its headers, so the
// worker's process span continues the trace. No URL, query, body, number or name is recorded.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Message } from 'kafkajs';
import { CAMPAIGN_HEADER } from '@anshim/api';
import {
  ATTR,
  extractHttpContext,
  httpServerSpan,
  inSpan,
  kafkaSendSpan,
  recordedTraceParent,
  TRACEPARENT,
} from '@anshim/telemetry';

// A proxy: it becomes the real tracer once main.ts starts telemetry.
const tracer = trace.getTracer('@anshim/gateway');

/** Runs a route's handler inside the request's server span (a child of the caller's traceparent, if any). */
export function traceRequest<T>(
  route: string,
  req: FastifyRequest,
  reply: FastifyReply,
  handler: () => Promise<T>,
): Promise<T> {
  const campaignId = (req.params as { campaignId?: unknown } | undefined)?.campaignId;
  const spec = httpServerSpan(req.method, route, typeof campaignId === 'string' ? { [ATTR.campaign]: campaignId } : {});
  return inSpan(
    tracer,
    spec,
    async (span) => {
      const result = await handler();
      span.setAttribute(ATTR.httpStatus, reply.statusCode);
      if (reply.statusCode >= 500) {
        span.setAttribute(ATTR.errorType, String(reply.statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return result;
    },
    { parent: extractHttpContext(req.headers) },
  );
}

/**
 * Runs one produce of `messages` to `topic` inside a `send <topic>` span and stamps the
 * span's traceparent on each record (only when the span is sampled: nothing otherwise).
 */
export function traceSend<T>(topic: string, messages: Message[], send: () => Promise<T>): Promise<T> {
  const campaignId = messages[0]?.headers?.[CAMPAIGN_HEADER];
  const spec = kafkaSendSpan(
    topic,
    messages.length,
    typeof campaignId === 'string' ? { [ATTR.campaign]: campaignId } : {},
  );
  return inSpan(tracer, spec, (span) => {
    const traceParent = recordedTraceParent(span);
    if (traceParent !== undefined) for (const m of messages) (m.headers ??= {})[TRACEPARENT] = traceParent;
    return send();
  });
}
