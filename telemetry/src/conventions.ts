// OpenTelemetry semantic conventions Anshim uses (messaging, RPC, HTTP), as strings: the
// messaging and RPC ones are still "incubating" upstream, which OpenTelemetry advises
// copying rather than importing. Plus the keys each kind of span may carry.
import { SpanKind, type Attributes } from '@opentelemetry/api';

export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingDestination: 'messaging.destination.name',
  messagingPartition: 'messaging.destination.partition.id',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingBatchCount: 'messaging.batch.message_count',
  messagingConsumerGroup: 'messaging.consumer.group.name',
  messagingClientId: 'messaging.client.id',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  rpcGrpcStatusCode: 'rpc.grpc.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  httpMethod: 'http.request.method',
  httpStatus: 'http.response.status_code',
  httpRoute: 'http.route',
  urlScheme: 'url.scheme',
  /** Anshim's own: identifiers, never personal data. */
  campaign: 'anshim.campaign.id',
  carrier: 'anshim.carrier',
  channel: 'anshim.channel',
  workerId: 'anshim.worker.id',
  /** Messages in one carrier SubmitRequest. */
  carrierBatchCount: 'anshim.carrier.message_count',
} as const;

const ANSHIM_KEYS = [ATTR.campaign, ATTR.carrier, ATTR.channel, ATTR.workerId, ATTR.errorType];

/**
 * The attribute keys each kind of span may export (a span is of the kind its
 * `messaging.system`, `rpc.system` or `http.request.method` says). Anything else is
 * dropped by the guard before export. Deliberately absent: message keys and ids, URL
 * paths and queries, exception messages — they can carry personal data.
 */
export const SPAN_ATTRIBUTE_KEYS = {
  messaging: new Set<string>([
    ATTR.messagingSystem,
    ATTR.messagingDestination,
    ATTR.messagingPartition,
    ATTR.messagingOperationType,
    ATTR.messagingOperationName,
    ATTR.messagingBatchCount,
    ATTR.messagingConsumerGroup,
    ATTR.messagingClientId,
    ATTR.serverAddress,
    ATTR.serverPort,
    ...ANSHIM_KEYS,
  ]),
  rpc: new Set<string>([
    ATTR.rpcSystem,
    ATTR.rpcService,
    ATTR.rpcMethod,
    ATTR.rpcGrpcStatusCode,
    ATTR.serverAddress,
    ATTR.serverPort,
    ATTR.carrierBatchCount,
    ...ANSHIM_KEYS,
  ]),
  http: new Set<string>([
    ATTR.httpMethod,
    ATTR.httpStatus,
    ATTR.httpRoute,
    ATTR.urlScheme,
    ATTR.serverAddress,
    ATTR.serverPort,
    ...ANSHIM_KEYS,
  ]),
  internal: new Set<string>(ANSHIM_KEYS),
  /** Span events: only the exception's type survives (its message may quote a value). */
  event: new Set<string>(['exception.type']),
  /** Links carry no attributes of ours. */
  link: new Set<string>(),
} as const;

export type SpanFamily = 'messaging' | 'rpc' | 'http' | 'internal';

export function spanFamilyOf(attributes: Attributes): SpanFamily {
  if (attributes[ATTR.messagingSystem] !== undefined) return 'messaging';
  if (attributes[ATTR.rpcSystem] !== undefined) return 'rpc';
  if (attributes[ATTR.httpMethod] !== undefined) return 'http';
  return 'internal';
}

/** What to start a span with: its name, kind and convention attributes. */
export interface SpanSpec {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
}

/** A producer's span for one `producer.send` to a topic (messaging conventions: "send {destination}"). */
export function kafkaSendSpan(topic: string, messageCount: number, extra: Attributes = {}): SpanSpec {
  return {
    name: `send ${topic}`,
    kind: SpanKind.PRODUCER,
    attributes: {
      [ATTR.messagingSystem]: 'kafka',
      [ATTR.messagingDestination]: topic,
      [ATTR.messagingOperationType]: 'send',
      [ATTR.messagingOperationName]: 'send',
      [ATTR.messagingBatchCount]: messageCount,
      ...extra,
    },
  };
}

/** A consumer's span for processing one fetched batch ("process {destination}"). */
export function kafkaProcessSpan(batch: {
  topic: string;
  partition: number;
  messageCount: number;
  consumerGroup?: string;
  extra?: Attributes;
}): SpanSpec {
  return {
    name: `process ${batch.topic}`,
    kind: SpanKind.CONSUMER,
    attributes: {
      [ATTR.messagingSystem]: 'kafka',
      [ATTR.messagingDestination]: batch.topic,
      [ATTR.messagingPartition]: String(batch.partition),
      [ATTR.messagingOperationType]: 'process',
      [ATTR.messagingOperationName]: 'process',
      [ATTR.messagingBatchCount]: batch.messageCount,
      ...(batch.consumerGroup ? { [ATTR.messagingConsumerGroup]: batch.consumerGroup } : {}),
      ...batch.extra,
    },
  };
}

/** A gRPC call's span ("{rpc.service}/{rpc.method}"); `address` is host:port. */
export function grpcSpan(
  side: 'client' | 'server',
  service: string,
  method: string,
  address?: string,
  extra: Attributes = {},
): SpanSpec {
  const attributes: Attributes = {
    [ATTR.rpcSystem]: 'grpc',
    [ATTR.rpcService]: service,
    [ATTR.rpcMethod]: method,
    ...extra,
  };
  if (address) {
    const at = address.lastIndexOf(':');
    attributes[ATTR.serverAddress] = at > 0 ? address.slice(0, at) : address;
    const port = Number(address.slice(at + 1));
    if (at > 0 && Number.isInteger(port)) attributes[ATTR.serverPort] = port;
  }
  return {
    name: `${service}/${method}`,
    kind: side === 'client' ? SpanKind.CLIENT : SpanKind.SERVER,
    attributes,
  };
}

/**
 * An HTTP server's span for one request ("{method} {route}", the route template, never the
 * URL: paths and queries may carry values). The status code is set when the answer is known.
 */
export function httpServerSpan(method: string, route: string, extra: Attributes = {}): SpanSpec {
  return {
    name: `${method} ${route}`,
    kind: SpanKind.SERVER,
    attributes: {
      [ATTR.httpMethod]: method,
      [ATTR.httpRoute]: route,
      [ATTR.urlScheme]: 'http',
      ...extra,
    },
  };
}
