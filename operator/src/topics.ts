import { campaignIdOf, campaignTopic, holdTopic, type CampaignTopics, type MessagingCampaign } from '@anshim/api';

/** What one partition is planned to carry: a worker replica drains roughly this many msg/s. */
export const MESSAGES_PER_PARTITION = 500;
export const MAX_PARTITIONS = 48;

export interface TopicPlan {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Advertising only: where messages wait out the night window (정보통신망법 제50조). */
  holdTopic?: string;
  configs: Record<string, string>;
}

/**
 * A campaign's topic: partitions from its rate (each partition is one unit of worker
 * parallelism), at least 3 for transactional and alert traffic so a slow consumer never
 * serialises OTPs; durability settings that survive a broker loss where the cluster has brokers to spare.
 */
export function planTopic(
  mc: MessagingCampaign,
  opts: { replicationFactor: number },
  /** The names status already records win over today's naming rule. */
  recorded?: CampaignTopics,
): TopicPlan {
  const priority = mc.spec.priorityClass ?? 'bulk';
  const byRate = Math.ceil(mc.spec.rateLimit.messagesPerSecond / MESSAGES_PER_PARTITION);
  const floor = priority === 'transactional' || priority === 'alert' ? 3 : 1;
  return {
    topic: recorded?.campaign ?? campaignTopic(campaignIdOf(mc), priority),
    partitions: Math.min(MAX_PARTITIONS, Math.max(floor, byRate)),
    replicationFactor: opts.replicationFactor,
    holdTopic: mc.spec.purpose === 'advertising' ? (recorded?.hold ?? holdTopic(campaignIdOf(mc))) : undefined,
    configs: {
      'cleanup.policy': 'delete',
      'min.insync.replicas': String(Math.max(1, opts.replicationFactor - 1)),
      // Sealed records outlive a send only until crypto-shredding; a week bounds a stuck one.
      'retention.ms': String(7 * 24 * 3600 * 1000),
    },
  };
}
