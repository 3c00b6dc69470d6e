import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@anshim/core';
import { TOPICS, decodeProgress, parseProgressKey, type CampaignCounts, type CampaignProgress } from '@anshim/api';

/**
 * The latest counters of every (campaign, worker) from the compacted `anshim.progress`
 * topic, read from the beginning on every start (no committed offsets: the topic is the state).
 */
export class ProgressFeed {
  private readonly latest = new Map<string, Map<string, CampaignProgress>>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly log: Logger,
    private readonly onChange: (campaignId: string) => void = () => undefined,
    private readonly groupId = 'anshim-operator-progress',
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS.progress, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? '';
        const ref = parseProgressKey(key);
        if (!ref) return;
        const { campaignId, workerId } = ref;
        const workers = this.latest.get(campaignId) ?? new Map<string, CampaignProgress>();
        this.latest.set(campaignId, workers);
        if (!message.value) workers.delete(workerId);
        else {
          try {
            workers.set(workerId, decodeProgress(message.value));
          } catch (err) {
            this.log.warn({ key, err: (err as Error).message }, 'unreadable progress record skipped');
            return;
          }
        }
        try {
          this.onChange(campaignId);
        } catch (err) {
          // One bad record must never stall the feed (it would be redelivered forever).
          this.log.warn({ key, err: (err as Error).message }, 'progress record not routed');
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  /** Summed over the campaign's workers; `queued` comes from the topic, not from here. */
  counts(campaignId: string, queued: number): CampaignCounts & { final: number; duplicates: number } {
    const counts = {
      queued,
      sent: 0,
      delivered: 0,
      failed: 0,
      fellBack: 0,
      failedByResult: {} as Record<string, number>,
    };
    let duplicates = 0;
    for (const p of this.latest.get(campaignId)?.values() ?? []) {
      counts.sent += p.sent - p.duplicates;
      duplicates += p.duplicates;
      counts.fellBack += p.fellBack;
      for (const [result, n] of Object.entries(p.results)) {
        if (result === 'DELIVERED') counts.delivered += n;
        else counts.failedByResult[result] = (counts.failedByResult[result] ?? 0) + n;
      }
      for (const [reason, n] of Object.entries(p.deadLettered)) {
        const k = `DEAD_LETTER_${reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
        counts.failedByResult[k] = (counts.failedByResult[k] ?? 0) + n;
      }
    }
    counts.failed = Object.values(counts.failedByResult).reduce((a, b) => a + b, 0);
    return { ...counts, final: counts.delivered + counts.failed, duplicates };
  }

  forget(campaignId: string): void {
    this.latest.delete(campaignId);
  }
}
