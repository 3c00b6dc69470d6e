// kafkajs clients that outlive the topics they once used.
//
// Why this is written by hand: a kafkajs client (producer, admin, consumer) adds every topic it
// touches to its cluster's metadata target set and never removes one that is deleted behind its
// back, so from then on every metadata refresh asks for the deleted topic, the broker answers
// UNKNOWN_TOPIC_OR_PARTITION, and every later call fails, for every topic (kafkajs #651, #1622;
// 2.2.4 is the last release and there is no public way to drop a topic from the set). A platform
// that deletes a campaign's topics when it shreds the campaign would leave each long-lived
// gateway, audit writer and operator unable to produce after its first destroyed campaign.
//
// The remedy here: when a call fails for an unknown topic, replace the client with a fresh one
// (an empty target set) and make the call once more. If the call's own topic is the deleted
// one, the second attempt fails the same way and that error is the caller's. Nothing is sent
// twice: the failed attempt never reached a partition leader (its metadata could not be read).
import type { Admin, Producer, ProducerBatch, ProducerRecord, RecordMetadata } from 'kafkajs';
import { causedByUnknownTopic } from './unknown-topic.ts';

/** Called once per replacement, with what failed (for a log line; no record contents). */
export type OnReplaced = (what: 'producer' | 'admin', err: Error) => void;

/** Holds the current client; replaces it once per failure however many calls saw that failure. */
class Replaceable<T extends { connect(): Promise<void>; disconnect(): Promise<void> }> {
  private current: T;
  private generation = 0;
  private replacing: Promise<void> | undefined;
  private connected = false;
  /** Calls still running on each client: a replaced one is disconnected when its last call ends. */
  private readonly inFlight = new Map<T, number>();
  private readonly retired = new Set<T>();
  /** Disconnects under way, each removed when it ends (a process may replace clients for months). */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly make: () => T,
    private readonly what: 'producer' | 'admin',
    private readonly onReplaced: OnReplaced,
  ) {
    this.current = make();
  }

  get client(): T {
    return this.current;
  }

  async connect(): Promise<void> {
    await this.current.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.replacing?.catch(() => undefined);
    await Promise.all([...this.closing]);
    await this.current.disconnect();
  }

  async call<R>(run: (client: T) => Promise<R>): Promise<R> {
    const generation = this.generation;
    try {
      return await this.on(this.current, run);
    } catch (err) {
      if (!this.connected || !causedByUnknownTopic(err)) throw err;
      // Calls in flight on the same client fail together: the first replaces it, the rest wait.
      if (generation === this.generation) this.replacing ??= this.replace(err as Error);
      await this.replacing;
      return await this.on(this.current, run);
    }
  }

  private async on<R>(client: T, run: (client: T) => Promise<R>): Promise<R> {
    this.inFlight.set(client, (this.inFlight.get(client) ?? 0) + 1);
    try {
      return await run(client);
    } finally {
      const left = (this.inFlight.get(client) ?? 1) - 1;
      if (left > 0) this.inFlight.set(client, left);
      else {
        this.inFlight.delete(client);
        if (this.retired.delete(client)) this.close(client);
      }
    }
  }

  private async replace(err: Error): Promise<void> {
    try {
      const old = this.current;
      const fresh = this.make();
      await fresh.connect();
      this.current = fresh;
      this.generation++;
      this.onReplaced(this.what, err);
      // Not while calls still run on it: kafkajs retries a refresh on a disconnected client by
      // connecting again, and that connection would never be closed.
      if (this.inFlight.has(old)) this.retired.add(old);
      else this.close(old);
    } finally {
      this.replacing = undefined;
    }
  }

  private close(client: T): void {
    const closed: Promise<void> = client
      .disconnect()
      .catch(() => undefined)
      .finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }
}

/** The part of a kafkajs Producer the platform uses, surviving deleted topics. */
export interface DurableProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

export function durableProducer(make: () => Producer, onReplaced: OnReplaced = () => undefined): DurableProducer {
  const holder = new Replaceable(make, 'producer', onReplaced);
  return {
    connect: () => holder.connect(),
    disconnect: () => holder.disconnect(),
    send: (record) => holder.call((p) => p.send(record)),
    sendBatch: (batch) => holder.call((p) => p.sendBatch(batch)),
  };
}

/**
 * A kafkajs Admin surviving deleted topics: every method goes to the current client and is made
 * once more on a fresh one after an unknown-topic failure. (`logger` and `on` go to the client of
 * the moment: listeners are not carried over to a replacement.)
 */
export function durableAdmin(make: () => Admin, onReplaced: OnReplaced = () => undefined): Admin {
  const holder = new Replaceable(make, 'admin', onReplaced);
  return new Proxy({} as Admin, {
    get(_target, name: string | symbol) {
      if (name === 'connect') return () => holder.connect();
      if (name === 'disconnect') return () => holder.disconnect();
      const value = (holder.client as unknown as Record<string | symbol, unknown>)[name];
      if (typeof value !== 'function') return value;
      if (name === 'logger' || name === 'on') return value.bind(holder.client);
      return (...args: unknown[]) =>
        holder.call((admin) =>
          (admin as unknown as Record<string | symbol, (...a: unknown[]) => Promise<unknown>>)[name]!(...args),
        );
    },
  });
}
