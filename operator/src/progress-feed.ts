import { setTimeout as sleep } from 'node:timers/promises';
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
  private stopped = false;
  /** Per partition, the offset the feed must read up to before its counts are the topic's. */
  private catchingUp: Map<number, bigint> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly log: Logger,
    private readonly onChange: (campaignId: string) => void = () => undefined,
    private readonly groupId = 'anshim-operator-progress',
  ) {}

  /**
   * True once the feed has read the topic as far as it reached when the feed started: until then
   * its counts are a prefix of the truth (a restarted operator would show counts going back to
   * zero, so the reconciler leaves counts and completion alone while this is false).
   */
  get ready(): boolean {
    return this.catchingUp !== undefined && this.catchingUp.size === 0;
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('the progress feed is stopped');
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Array<{ partition: number; high: string; low: string }>;
    try {
      ends = await admin.fetchTopicOffsets(TOPICS.progress);
    } finally {
      await admin.disconnect();
    }
    this.catchingUp = new Map(
      ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]),
    );
    const consumer = this.kafka.consumer({ groupId: this.groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    this.consumer = consumer;
    await consumer.connect();
    // stop() may have run while this connected: leave nothing running behind it.
    if (this.stopped) return void (await consumer.disconnect());
    await consumer.subscribe({ topic: TOPICS.progress, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        const end = this.catchingUp?.get(partition);
        if (end !== undefined && BigInt(message.offset) + 1n >= end) this.catchingUp!.delete(partition);
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

  /**
   * Starts the feed without waiting for it (after `prepare`, e.g. creating its topic), trying
   * again every `retryMs` until it runs or stop() is called: Kafka may be down when the operator starts leading, and the control loop must not
   * wait for it (it reports Kafka per campaign instead).
   */
  startInBackground(
    onError: (err: Error) => void,
    prepare: () => Promise<void> = async () => {},
    retryMs = 2000,
  ): Promise<void> {
    return (async () => {
      while (!this.stopped) {
        try {
          await prepare();
          await this.start();
          return;
        } catch (err) {
          if (this.stopped) return;
          onError(err as Error);
          await this.consumer?.disconnect().catch(() => undefined);
          this.consumer = undefined;
          await sleep(retryMs);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
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
