import { setTimeout as sleep } from 'node:timers/promises';
import { AckStatus, ResultCode } from '@anshim/proto';
import type { CarrierId } from '@anshim/core';
import { backoffDelay, type BackoffPolicy } from './backoff.ts';
import { CarrierUnavailableError, type CarrierLink } from './carrier-link.ts';
import type { DispatchOutcome } from './dispatch-outcome.ts';
import type { PreparedMessage } from './prepare.ts';

export interface DispatcherOptions {
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** Messages per SubmitRequest. */
  batchSize: number;
  /** Called while waiting to retry, so a Kafka consumer can keep its group membership. */
  onWait?: () => Promise<void>;
}

interface Item {
  index: number;
  frame: Uint8Array;
  attempt: number;
  lastReason: 'carrier-unavailable' | 'throttled';
}

/** Sends prepared messages to their carriers; retries throttling and outages with backoff; returns a final outcome per message. */
export class Dispatcher {
  constructor(
    private readonly links: ReadonlyMap<CarrierId, CarrierLink>,
    private readonly opts: DispatcherOptions,
  ) {}

  async dispatch(messages: readonly PreparedMessage[]): Promise<DispatchOutcome[]> {
    const outcomes = new Array<DispatchOutcome>(messages.length);
    const byCarrier = new Map<CarrierId, Item[]>();
    messages.forEach((m, index) => {
      const list = byCarrier.get(m.carrier) ?? [];
      list.push({ index, frame: m.frame, attempt: 1, lastReason: 'carrier-unavailable' });
      byCarrier.set(m.carrier, list);
    });
    await Promise.all(
      [...byCarrier].map(([carrier, items]) => {
        const link = this.links.get(carrier);
        if (!link) {
          for (const it of items) outcomes[it.index] = { kind: 'gave-up', reason: 'no-route', attempts: 0 };
          return undefined;
        }
        return this.sendWithRetry(link, items, outcomes);
      }),
    );
    return outcomes;
  }

  private async sendWithRetry(link: CarrierLink, items: Item[], outcomes: DispatchOutcome[]): Promise<void> {
    let todo = items;
    for (let round = 1; todo.length > 0; round++) {
      const retry: Item[] = [];
      let hint = 0;
      const chunks: Item[][] = [];
      for (let i = 0; i < todo.length; i += this.opts.batchSize) chunks.push(todo.slice(i, i + this.opts.batchSize));
      await Promise.all(
        chunks.map(async (chunk) => {
          try {
            // Every message of a round is on the same attempt: the round's number.
            const acks = await link.submit(
              chunk.map((it) => it.frame),
              round,
            );
            acks.forEach((ack, i) => {
              const it = chunk[i]!;
              switch (ack.status) {
                case AckStatus.ACCEPTED:
                case AckStatus.DUPLICATE:
                  outcomes[it.index] = {
                    kind: 'accepted',
                    duplicate: ack.status === AckStatus.DUPLICATE,
                    attempts: it.attempt,
                  };
                  break;
                case AckStatus.THROTTLED:
                  hint = Math.max(hint, ack.retryAfterMs);
                  retry.push({ ...it, lastReason: 'throttled' });
                  break;
                case AckStatus.UNAVAILABLE:
                  retry.push({ ...it, lastReason: 'carrier-unavailable' });
                  break;
                default:
                  outcomes[it.index] = {
                    kind: 'rejected',
                    result: ack.result || ResultCode.CARRIER_ERROR,
                    detail: ack.detail,
                    attempts: it.attempt,
                  };
              }
            });
          } catch (err) {
            if (!(err instanceof CarrierUnavailableError)) throw err;
            for (const it of chunk) retry.push({ ...it, lastReason: 'carrier-unavailable' });
          }
        }),
      );
      todo = [];
      for (const it of retry) {
        if (it.attempt >= this.opts.maxAttempts) {
          outcomes[it.index] = { kind: 'gave-up', reason: it.lastReason, attempts: it.attempt };
        } else {
          // The same frame goes again; only the attempt number travels anew (CarrierLink.submit).
          todo.push({ ...it, attempt: it.attempt + 1 });
        }
      }
      if (todo.length > 0) await this.wait(backoffDelay(round, this.opts.backoff, hint));
    }
  }

  private async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await sleep(Math.min(1000, until - Date.now()));
      await this.opts.onWait?.();
    }
  }
}
