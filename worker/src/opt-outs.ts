import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@anshim/core';
import { TOPICS } from '@anshim/api';

/**
 * The senders' opt-out lists as keyed tags (see `optOutTag`), read from the compacted
 * `anshim.optouts` topic by every worker and followed live, so an opt-out recorded
 * mid-campaign stops the very next message. `start()` resolves only once the list has
 * caught up with the topic: a worker never sends an advertisement on a partial list.
 */
export class OptOutList {
  private readonly tags = new Set<string>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly log: Logger,
  ) {}

  has(tag: string): boolean {
    return this.tags.has(tag);
  }

  get size(): number {
    return this.tags.size;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(TOPICS.optOuts).finally(() => admin.disconnect());
    const behind = new Map(
      ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]),
    );
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (behind.size === 0) caughtUp();
    const consumer = this.kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.optOuts, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const tag = message.key?.toString();
        if (tag) {
          if (message.value) this.tags.add(tag);
          else this.tags.delete(tag);
        }
        const high = behind.get(partition);
        if (high !== undefined && Number(message.offset) + 1 >= high) {
          behind.delete(partition);
          if (behind.size === 0) caughtUp();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`opt-out list not loaded within ${timeoutMs / 1000}s; refusing to send advertising`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    this.log.info({ optOuts: this.tags.size }, 'opt-out list loaded');
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
