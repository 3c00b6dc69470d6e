// Structured JSON logs (pino) that cannot carry personal data by accident:
// 1. redaction of fields that hold it (phone, name, recipient, …) at any of two levels;
// 2. defence in depth: every string that reaches the log line (message, format args,
//    fields, bindings, error messages and stacks) has phone-number-shaped runs masked.
import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { containsPhoneLike, maskPhonesInText } from './phone.ts';

export type { Logger } from 'pino';

const SENSITIVE_KEYS = [
  'phone',
  'phones',
  'name',
  'recipient',
  'recipients',
  'vars',
  'plaintext',
  'material',
  'body',
  'to',
];

/** Redacted paths: the sensitive keys at top level and one level down. */
export const REDACT_PATHS = [...SENSITIVE_KEYS, ...SENSITIVE_KEYS.map((k) => `*.${k}`)];
export const REDACTED = '[redacted]';

function maskString(value: string): string {
  return containsPhoneLike(value) ? maskPhonesInText(value) : value;
}

const MAX_DEPTH = 6;

/** Returns `value` with phone-like strings masked; copies only what changes. */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) return maskDeep(stdSerializers.err(value), depth + 1);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const masked = maskDeep(item, depth + 1);
      if (masked !== item) (out ??= value.slice())[i] = masked;
    });
    return out ?? value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const masked = maskDeep(item, depth + 1);
    if (masked !== item) (out ??= { ...value })[key] = masked;
  }
  return out ?? value;
}

export interface CreateLoggerOptions {
  level?: LoggerOptions['level'];
  /** Defaults to stdout; a path appends to that file (synchronously, so a scan right after sees every line). */
  destination?: DestinationStream | string;
}

export function createLogger(component: string, options: CreateLoggerOptions = {}): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      // formatters.log may already have turned the Error into a masked plain object.
      err: (err: unknown) => (err instanceof Error ? maskDeep(err) : err),
      error: (err: unknown) => (err instanceof Error ? maskDeep(err) : err),
    },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => maskDeep(bindings) as Record<string, unknown>,
      log: (object) => maskDeep(object) as Record<string, unknown>,
    },
    hooks: {
      // The message and its printf arguments never pass through formatters.log. A leading
      // object (fields or an Error) is left for formatters.log / serializers, so pino still
      // recognises an Error there.
      logMethod(args, method) {
        const masked = args.map((arg, i) => (i === 0 && typeof arg === 'object' ? arg : maskDeep(arg))) as Parameters<
          typeof method
        >;
        return method.apply(this, masked);
      },
    },
  };
  const destination =
    typeof options.destination === 'string'
      ? pino.destination({ dest: options.destination, sync: true, mkdir: true })
      : options.destination;
  const logger = destination ? pino(loggerOptions, destination) : pino(loggerOptions);
  // pino applies formatters.bindings to the root only; children inherit this own property
  // through their prototype chain, so every generation's bindings are masked.
  const child = logger.child;
  logger.child = function maskedChild(this: Logger, bindings, childOptions) {
    return child.call(this, maskDeep(bindings) as typeof bindings, childOptions);
  } as typeof logger.child;
  return logger;
}
