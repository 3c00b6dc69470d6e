// Audit chains on a Kafka topic (`anshim.audit`). The record key is the chain id and the
// partition is fixed per chain, so one partition keeps each chain's order. Each chain writes
// through its own transactional producer (transactional id `anshim-audit.<chain>`): opening a
// chain fences any older writer of it (a zombie pod) and aborts what it left open, so a
// restarted writer resumes from the committed tail and two writers can never fork a chain.
// Finding that tail: the new writer commits a small fence record (header kind=fence, no value)
// and waits until the partition's last stable offset passes it. Every committed entry of the
// chain then lies below the fence and can be read with read_committed; readers skip fences.
import { randomUUID } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type PartitionMetadata, type Producer } from 'kafkajs';
import type { AuditEntry } from './audit-entry.ts';
import { AuditStoreError, type AuditStore } from './audit-store.ts';
import { parseAuditLine } from './file-audit-store.ts';

export const AUDIT_TOPIC = 'anshim.audit';
/** Fixed for the topic's life: a chain's partition is its key's hash modulo this count. */
export const AUDIT_TOPIC_PARTITIONS = 3;

/** Creates the audit topic if it does not exist: kept forever, never compacted. */
export async function ensureAuditTopic(
  admin: Admin,
  options: { topic?: string; partitions?: number; replicationFactor?: number } = {},
): Promise<void> {
  const topic = options.topic ?? AUDIT_TOPIC;
  if ((await admin.listTopics()).includes(topic)) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: options.partitions ?? AUDIT_TOPIC_PARTITIONS,
        replicationFactor: options.replicationFactor ?? 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'delete' },
          { name: 'retention.ms', value: '-1' },
          { name: 'retention.bytes', value: '-1' },
        ],
      },
    ],
  });
}

export interface KafkaAuditStoreOptions {
  topic?: string;
  /** How long reading a chain's tail may take before the store reports `unavailable`. */
  readTimeoutMs?: number;
}

const SEQ_HEADER = 'anshim-audit-seq';
const KIND_HEADER = 'anshim-audit-kind';
const POLL_MS = 50;
// Records read back per step when looking for a chain's tail; grows ×4 while not found.
const FIRST_SCAN = 256n;

export class KafkaAuditStore implements AuditStore {
  readonly #producers = new Map<string, Promise<Producer>>();
  readonly #partitionOf: (chain: string) => number;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    readonly topic: string,
    partitions: PartitionMetadata[],
    private readonly readTimeoutMs: number,
  ) {
    const partitioner = Partitioners.DefaultPartitioner();
    this.#partitionOf = (chain) =>
      partitioner({ topic, partitionMetadata: partitions, message: { key: chain, value: null } });
  }

  get description(): string {
    return `kafka ${this.topic}`;
  }

  /** Connects to an existing audit topic (see ensureAuditTopic). */
  static async connect(kafka: Kafka, options: KafkaAuditStoreOptions = {}): Promise<KafkaAuditStore> {
    const topic = options.topic ?? AUDIT_TOPIC;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      if (!meta?.partitions.length) throw new Error('no partitions');
      return new KafkaAuditStore(kafka, admin, topic, meta.partitions, options.readTimeoutMs ?? 60_000);
    } catch (err) {
      await admin.disconnect();
      throw new AuditStoreError('unavailable', `topic ${topic}: ${err instanceof Error ? err.message : 'error'}`, {
        cause: err,
      });
    }
  }

  /** The partition that holds `chain`. */
  partitionOf(chain: string): number {
    return this.#partitionOf(chain);
  }

  /** Fences older writers of `chain`, then reads its last committed entry. */
  async tail(chain: string): Promise<AuditEntry | undefined> {
    const fence = await this.#writeFence(chain);
    const { low } = await this.#stableBounds(chain, fence + 1n);
    let end = fence;
    for (let span = FIRST_SCAN; end > low; span *= 4n) {
      const start = end - span > low ? end - span : low;
      const last = (await this.#read(chain, start, end)).at(-1);
      if (last) return last;
      end = start;
    }
    return undefined;
  }

  /** Every committed entry of `chain` below the partition's last stable offset, in order (for exports). */
  async readChain(chain: string): Promise<AuditEntry[]> {
    const { low, high } = await this.#stableBounds(chain, 0n);
    return high > low ? this.#read(chain, low, high) : [];
  }

  async append(entry: AuditEntry): Promise<void> {
    const producer = await this.#producerFor(entry.chain);
    try {
      const tx = await producer.transaction();
      try {
        await tx.send({
          topic: this.topic,
          acks: -1,
          messages: [
            {
              key: entry.chain,
              partition: this.partitionOf(entry.chain),
              value: JSON.stringify(entry),
              headers: { [KIND_HEADER]: 'entry', [SEQ_HEADER]: String(entry.seq) },
            },
          ],
        });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      const why = err instanceof Error ? err.name : 'error';
      throw new AuditStoreError('write-failed', `${this.topic} seq ${entry.seq} of ${entry.chain}: ${why}`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    const producers = await Promise.allSettled(this.#producers.values());
    this.#producers.clear();
    for (const p of producers) if (p.status === 'fulfilled') await p.value.disconnect();
    await this.admin.disconnect();
  }

  #producerFor(chain: string): Promise<Producer> {
    let producer = this.#producers.get(chain);
    if (producer === undefined) {
      producer = (async () => {
        const p = this.kafka.producer({
          transactionalId: `anshim-audit.${chain}`,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: 10_000,
          allowAutoTopicCreation: false,
        });
        await p.connect();
        // Initialising the transactional id bumps its epoch: an older writer is fenced and
        // its open transaction aborted, before we read the tail.
        await (await p.transaction()).abort();
        return p;
      })();
      producer.catch(() => this.#producers.delete(chain));
      this.#producers.set(chain, producer);
    }
    return producer;
  }

  /** Commits a fence record for `chain` (after fencing older writers); returns its offset. */
  async #writeFence(chain: string): Promise<bigint> {
    const producer = await this.#producerFor(chain);
    const tx = await producer.transaction();
    try {
      const [meta] = await tx.send({
        topic: this.topic,
        acks: -1,
        messages: [
          { key: chain, partition: this.partitionOf(chain), value: null, headers: { [KIND_HEADER]: 'fence' } },
        ],
      });
      await tx.commit();
      if (meta?.baseOffset === undefined) throw new Error('no offset returned');
      return BigInt(meta.baseOffset);
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw new AuditStoreError(
        'unavailable',
        `fencing ${chain} on ${this.topic}: ${err instanceof Error ? err.message : 'error'}`,
        {
          cause: err,
        },
      );
    }
  }

  /** The partition's low offset and last stable offset, once the latter has reached `atLeast`. */
  async #stableBounds(chain: string, atLeast: bigint): Promise<{ low: bigint; high: bigint }> {
    const partition = this.partitionOf(chain);
    const deadline = Date.now() + this.readTimeoutMs;
    for (;;) {
      // The admin client lists offsets read_committed: `high` is the last stable offset.
      const p = (await this.admin.fetchTopicOffsets(this.topic)).find((o) => o.partition === partition);
      if (!p) throw new AuditStoreError('unavailable', `${this.topic} has no partition ${partition}`);
      const bounds = { low: BigInt(p.low), high: BigInt(p.high) };
      if (bounds.high >= atLeast) return bounds;
      if (Date.now() > deadline)
        throw new AuditStoreError(
          'unavailable',
          `${this.topic}/${partition}: transactions still open after ${this.readTimeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Committed entries of `chain` at offsets [from, to) of its partition; `to` must not exceed the last stable offset. */
  async #read(chain: string, from: bigint, to: bigint): Promise<AuditEntry[]> {
    const partition = this.partitionOf(chain);
    const consumer = this.kafka.consumer({ groupId: `anshim-audit-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
    const found: AuditEntry[] = [];
    let failure: unknown;
    let timer: NodeJS.Timeout | undefined;
    let finished!: () => void;
    const done = new Promise<void>((resolve, reject) => {
      finished = resolve;
      timer = setTimeout(
        () => reject(new AuditStoreError('unavailable', `reading ${this.topic}/${partition} timed out`)),
        this.readTimeoutMs,
      );
    });
    // Progress comes from the batch events, which (unlike eachBatch) also report batches holding
    // only commit markers: below the last stable offset every fetch returns records, so this ends.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.partition === partition && BigInt(payload.lastOffset) >= to - 1n) finished();
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, pause }) => {
          if (batch.partition !== partition) return void pause();
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < from || offset >= to || m.key?.toString() !== chain || !m.value) continue;
            if (m.headers?.[KIND_HEADER]?.toString() === 'fence') continue;
            try {
              found.push(parseAuditLine(m.value.toString('utf8'), `${this.topic}/${partition} offset ${m.offset}`));
            } catch (err) {
              failure ??= err;
            }
          }
        },
      });
      // After run: the group is set up; the seek applies once the partition is assigned.
      consumer.seek({ topic: this.topic, partition, offset: from.toString() });
      await done;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
    }
    if (failure) throw failure;
    return found;
  }
}
