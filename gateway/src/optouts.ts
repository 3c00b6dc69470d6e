// 수신거부: a recipient's opt-out from a sender's 080 line, stored on the opt-out topic as a
// keyed tag only (HMAC of the 080 number and the phone), so the topic never holds a number.
import { TOPICS } from '@anshim/api';
import { InvalidPhoneError, optOutRecord } from '@anshim/core';
import { IngestError } from './errors.ts';
import type { RecordProducer } from './producer.ts';

export interface OptOutRequest {
  /** The sender's 080 opt-out line the recipient called. */
  optOutNumber: string;
  phone: string;
  /** false withdraws an earlier opt-out; true (the default) records one. */
  optedOut?: boolean;
}

/** An opt-out request as the audit chain records it: who, which 080 line, which way; never the phone. */
export interface OptOutAuditEvent {
  type: 'optout';
  actor: string;
  /** The sender's published 080 line (a business number, not a recipient's). */
  optOutNumber: string;
  optedOut: boolean;
  outcome: 'completed' | 'failed';
  errorCode?: string;
  /** The opt-out list record's key (an HMAC tag), when the number was valid: links entry to record. */
  tag?: string;
  at: string;
}

export interface OptOutResult {
  recorded: true;
  optedOut: boolean;
}

export async function recordOptOut(
  producer: RecordProducer,
  key: Uint8Array,
  req: OptOutRequest,
): Promise<OptOutResult & { tag: string }> {
  const optedOut = req.optedOut ?? true;
  let record;
  try {
    record = optOutRecord(key, req.optOutNumber, req.phone, optedOut);
  } catch (err) {
    // The reason ('not-mobile', 'too-short', …) says what is wrong without repeating the number.
    if (err instanceof InvalidPhoneError)
      throw new IngestError('invalid-phone', `the phone is not valid: ${err.reason}`);
    throw err;
  }
  try {
    await producer.send({ topic: TOPICS.optOuts, acks: -1, messages: [record] });
  } catch (err) {
    // kafkajs errors name brokers and topics, never record contents; keep the class only.
    throw new IngestError(
      'kafka-unavailable',
      `Kafka did not acknowledge the opt-out (${err instanceof Error ? err.name : 'error'}); it was not recorded`,
    );
  }
  return { recorded: true, optedOut, tag: record.key };
}

/**
 * recordOptOut, with its audit entry (who, which 080 line, which way, the outcome), as uploads
 * and messages are audited in ingest.ts. An audit callback that fails is logged, not the caller's error.
 */
export async function recordOptOutAudited(
  deps: {
    producer: RecordProducer;
    auditOptOut?: (event: OptOutAuditEvent) => void | Promise<void>;
    logger: { error(msg: string): void };
  },
  key: Uint8Array,
  req: OptOutRequest,
  actor: string,
): Promise<OptOutResult> {
  const base = { type: 'optout', actor, optOutNumber: req.optOutNumber, optedOut: req.optedOut ?? true } as const;
  const at = new Date().toISOString();
  const audit = async (outcome: Pick<OptOutAuditEvent, 'outcome' | 'errorCode' | 'tag'>) => {
    try {
      await deps.auditOptOut?.({ ...base, at, ...outcome });
    } catch {
      deps.logger.error('audit callback failed');
    }
  };
  try {
    const { tag, ...result } = await recordOptOut(deps.producer, key, req);
    await audit({ outcome: 'completed', tag });
    return result;
  } catch (err) {
    await audit({ outcome: 'failed', errorCode: err instanceof IngestError ? err.code : 'internal' });
    throw err;
  }
}
