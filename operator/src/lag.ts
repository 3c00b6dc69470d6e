import type { Admin } from 'kafkajs';

export interface TopicLag {
  /** Σ per partition of high watermark − committed offset (− low watermark where nothing is committed yet). */
  lag: number;
  /** Σ high watermarks: records ever enqueued on the topic. */
  produced: number;
  partitions: number;
}

/** A consumer group's lag on one topic, as KEDA's Kafka scaler reads it. */
export async function readLag(admin: Admin, groupId: string, topic: string): Promise<TopicLag> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const byPartition = new Map(
    (committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
  );
  let lag = 0;
  let produced = 0;
  for (const p of ends) {
    const high = Number(p.high);
    const low = Number(p.low);
    const done = byPartition.get(p.partition) ?? -1;
    lag += Math.max(0, high - (done >= 0 ? done : low));
    produced += high;
  }
  return { lag, produced, partitions: ends.length };
}
