// The single writer of one audit chain. Appends are serialised in-process: each entry links
// to the one before it, so two concurrent appends must never see the same head.
import { canonicalJson, CanonicalJsonError, isJsonObject, type JsonObject } from './canonical.ts';
import {
  AUDIT_ACTIONS,
  entryHash,
  genesisHead,
  headOf,
  type AuditEntry,
  type AuditEvent,
  type ChainHead,
} from './audit-entry.ts';
import type { AuditStore } from './audit-store.ts';
import { refusePersonalData } from './personal-data.ts';
import { ComplianceError } from './errors.ts';

export type AuditChainErrorReason =
  /** Chain ids are short, printable and the same on every restart (`operator`, `worker-3`). */
  | 'invalid-chain-id'
  /** The event is not one the audit records (unknown action, empty actor, details JSON cannot carry). */
  | 'invalid-event'
  /** The stored tail does not hash to what it says, or belongs to another chain: resume refused. */
  | 'tail-corrupt'
  /** A store write failed, so the stored tail is unknown: reopen the chain to resume from storage. */
  | 'chain-broken';

export class AuditChainError extends ComplianceError<AuditChainErrorReason> {
  override readonly name = 'AuditChainError';
}

export interface AuditChainOptions {
  /** Defaults to the system clock; tests pass a fixed one. */
  now?: () => Date;
  /** Called after each durable append (e.g. AnomalyMonitor.observe). Its errors are reported, never thrown. */
  onAppend?: (entry: AuditEntry) => void;
  onAppendError?: (err: unknown) => void;
}

const CHAIN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** Checks an event before it reaches the queue, so a refused event never costs a seq. */
function validateEvent(event: AuditEvent): void {
  if (!ACTIONS.has(event.action)) throw new AuditChainError('invalid-event', `unknown action ${String(event.action)}`);
  for (const f of ['actor', 'subject'] as const)
    if (typeof event[f] !== 'string' || event[f].length === 0)
      throw new AuditChainError('invalid-event', `${f} must be a non-empty string`);
  if (!isJsonObject(event.details)) throw new AuditChainError('invalid-event', 'details must be an object');
  try {
    canonicalJson(event.details, 'details');
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw new AuditChainError('invalid-event', err.message);
    throw err;
  }
  refusePersonalData(event.actor, 'actor');
  refusePersonalData(event.subject, 'subject');
  refusePersonalData(event.details, 'details');
}

export class AuditChain {
  #head: ChainHead;
  #queue: Promise<unknown> = Promise.resolve();
  #broken: unknown;

  private constructor(
    readonly chain: string,
    private readonly store: AuditStore,
    head: ChainHead,
    private readonly options: AuditChainOptions,
  ) {
    this.#head = head;
  }

  /** Resumes `chain` from the store's last entry of it (or starts it), after checking that entry's hash. */
  static async open(store: AuditStore, chain: string, options: AuditChainOptions = {}): Promise<AuditChain> {
    if (!CHAIN_ID.test(chain)) throw new AuditChainError('invalid-chain-id', 'use 1-128 of [A-Za-z0-9._:-]');
    refusePersonalData(chain, 'chain');
    const tail = await store.tail(chain);
    if (tail === undefined) return new AuditChain(chain, store, genesisHead(chain), options);
    if (tail.chain !== chain) throw new AuditChainError('tail-corrupt', `${store.description} returned another chain`);
    if (entryHash(tail) !== tail.hash)
      throw new AuditChainError('tail-corrupt', `${store.description}: entry ${tail.seq} does not match its hash`);
    return new AuditChain(chain, store, headOf(tail), options);
  }

  /** The last durably appended entry's seq and hash: what a destruction certificate cites. */
  get head(): ChainHead {
    return { ...this.#head };
  }

  /**
   * Appends one event; resolves with the stored entry once it is durable. Refuses personal
   * data (PersonalDataError) and malformed events (AuditChainError) without using a seq.
   */
  append(event: AuditEvent): Promise<AuditEntry> {
    try {
      validateEvent(event);
    } catch (err) {
      return Promise.reject(err);
    }
    const done = this.#queue.then(() => this.#appendNow(event));
    this.#queue = done.catch(() => undefined);
    return done;
  }

  async #appendNow(event: AuditEvent): Promise<AuditEntry> {
    if (this.#broken !== undefined)
      throw new AuditChainError('chain-broken', 'an earlier write failed; reopen the chain', { cause: this.#broken });
    const body: Omit<AuditEntry, 'hash'> = {
      chain: this.chain,
      seq: this.#head.seq + 1,
      time: (this.options.now?.() ?? new Date()).toISOString(),
      actor: event.actor,
      action: event.action,
      subject: event.subject,
      // A deep copy through JSON: the caller may reuse its object after the call.
      details: JSON.parse(JSON.stringify(event.details)) as JsonObject,
      prevHash: this.#head.hash,
    };
    const entry: AuditEntry = { ...body, hash: entryHash(body) };
    try {
      await this.store.append(entry);
    } catch (err) {
      // The write may or may not have landed; only the store knows the tail now.
      this.#broken = err;
      throw new AuditChainError('chain-broken', `append of seq ${entry.seq} to ${this.store.description} failed`, {
        cause: err,
      });
    }
    this.#head = headOf(entry);
    if (this.options.onAppend) {
      try {
        this.options.onAppend(entry);
      } catch (err) {
        this.options.onAppendError?.(err);
      }
    }
    return entry;
  }

  /** Waits for queued appends to settle (the store stays open: it may be shared). */
  async flush(): Promise<void> {
    await this.#queue;
  }
}
