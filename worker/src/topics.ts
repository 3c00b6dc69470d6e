/** Kafka topics and headers the data plane reads and writes. */
export const TOPICS = {
  reports: 'anshim.reports',
  deadLetters: 'anshim.deadletters',
  /** Compacted: the latest counters of each (campaign, worker). */
  progress: 'anshim.progress',
} as const;

/** Each campaign record carries its campaign id in a header, so a batch is routed without decoding it. */
export const CAMPAIGN_HEADER = 'anshim-campaign';

export const campaignTopic = (campaignId: string, priorityClass = 'bulk'): string =>
  `anshim.campaign.${campaignId}.${priorityClass}`;

/** The minimal admin surface topic setup needs (kafkajs' Admin satisfies it). */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  createTopics(options: {
    topics: Array<{
      topic: string;
      numPartitions: number;
      replicationFactor: number;
      configEntries?: Array<{ name: string; value: string }>;
    }>;
    waitForLeaders?: boolean;
  }): Promise<boolean>;
}

/** Creates the fleet-wide topics if absent (idempotent: existing topics are adopted as they are). */
export async function ensureDataPlaneTopics(admin: TopicAdmin, replicationFactor = 1): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted = [
    { topic: TOPICS.reports, numPartitions: 12, replicationFactor },
    { topic: TOPICS.deadLetters, numPartitions: 3, replicationFactor },
    {
      topic: TOPICS.progress,
      numPartitions: 3,
      replicationFactor,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
  ].filter((t) => !existing.has(t.topic));
  if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true });
}
