// Whether a kafkajs failure comes from a topic that no longer exists, anywhere in its causes:
// a send that ran out of retries wraps the protocol error (KafkaJSNumberOfRetriesExceeded.cause).

const UNKNOWN_TOPIC = 'UNKNOWN_TOPIC_OR_PARTITION';

export function causedByUnknownTopic(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const { type, cause, originalError } = e as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (type === UNKNOWN_TOPIC) return true;
    e = cause ?? originalError;
  }
  return false;
}
