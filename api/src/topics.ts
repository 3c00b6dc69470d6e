// Kafka topics and headers the platform reads and writes: one spelling for every process.

export const TOPICS = {
  reports: 'anshim.reports',
  deadLetters: 'anshim.deadletters',
  /** Compacted: the latest counters of each (campaign, worker), as ProgressRecord. */
  progress: 'anshim.progress',
  /** Compacted: keyed opt-out tags (HMAC of sender line and number, never the number); null value = opted back in. */
  optOuts: 'anshim.optouts',
} as const;

/** A campaign's topic (the operator writes the name it created into status.topics.campaign). */
export const campaignTopic = (campaignId: string, priorityClass = 'bulk'): string =>
  `anshim.campaign.${campaignId}.${priorityClass}`;
/** The consumer group of a campaign's workers (its held ads: `<group>.hold`); Kafka grants name the prefix. */
export const workerGroupId = (campaignId: string): string => `anshim.worker.${campaignId}`;
/** Advertisements held for the night window wait here until their not-before time. */
export const holdTopic = (campaignId: string): string => `anshim.hold.${campaignId}`;

/** Each campaign record carries its campaign id in a header, so a batch is routed without decoding it. */
export const CAMPAIGN_HEADER = 'anshim-campaign';
/** On a held record: when it may be sent (ms since epoch). */
export const NOT_BEFORE_HEADER = 'anshim-not-before';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: Array<{ name: string; value: string }>;
}

/** The fleet-wide topics of the data plane. */
export const dataPlaneTopics = (replicationFactor = 1): TopicSpec[] => [
  { topic: TOPICS.reports, numPartitions: 12, replicationFactor },
  { topic: TOPICS.deadLetters, numPartitions: 3, replicationFactor },
  {
    topic: TOPICS.optOuts,
    numPartitions: 3,
    replicationFactor,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
  },
  {
    topic: TOPICS.progress,
    numPartitions: 3,
    replicationFactor,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
  },
];

/** The minimal admin surface topic setup needs (kafkajs' Admin satisfies it). */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  createTopics(options: { topics: TopicSpec[]; waitForLeaders?: boolean }): Promise<boolean>;
}

/** Creates the fleet-wide topics if absent (idempotent: existing topics are adopted as they are). */
export async function ensureDataPlaneTopics(admin: TopicAdmin, replicationFactor = 1): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted = dataPlaneTopics(replicationFactor).filter((t) => !existing.has(t.topic));
  if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true });
}
