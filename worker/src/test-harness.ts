// Shared set-up for the worker's integration tests and benchmark: real Kafka topics, sealed
// campaign records, and certificates from the local stack's CA.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { sealCampaignRecord, type DataKey } from '@anshim/core';
import { LocalCa, requireStack } from '@anshim/stack';
import type { IRecipientPayload } from '@anshim/proto';
import { CAMPAIGN_HEADER, ensureDataPlaneTopics } from './topics.ts';

export function stackKafka(clientId = 'anshim-test'): Kafka {
  return new Kafka({ clientId, brokers: requireStack().kafka.brokers, logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createCampaignTopic(kafka: Kafka, topic: string, partitions = 6): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await ensureDataPlaneTopics(admin);
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    }
  });
}

/** Seals and produces recipients as the gateway would; returns the record ids in order. */
export async function produceRecipients(
  kafka: Kafka,
  topic: string,
  key: DataKey,
  campaignId: string,
  recipients: Iterable<IRecipientPayload>,
  opts: { idPrefix?: string; batch?: number; extraValues?: Buffer[] } = {},
): Promise<string[]> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const ids: string[] = [];
  let messages: Array<{ key: string; value: Buffer; headers: Record<string, string> }> = [];
  const flush = async () => {
    if (messages.length) await producer.send({ topic, messages, acks: -1 });
    messages = [];
  };
  let n = 0;
  for (const r of recipients) {
    const recordId = `${opts.idPrefix ?? 'r'}${n++}`;
    ids.push(recordId);
    const value = Buffer.from(sealCampaignRecord(key, campaignId, recordId, r));
    messages.push({ key: recordId, value, headers: { [CAMPAIGN_HEADER]: campaignId } });
    if (messages.length >= (opts.batch ?? 2000)) await flush();
  }
  for (const value of opts.extraValues ?? [])
    messages.push({ key: 'bad', value, headers: { [CAMPAIGN_HEADER]: campaignId } });
  await flush();
  await producer.disconnect();
  return ids;
}

/** mTLS material for carrier links, issued by the local stack's CA. */
export function carrierTlsFiles(): {
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
} {
  const ca = new LocalCa(requireStack().pki).ensure();
  return {
    ca: ca.cert,
    server: ca.issue({
      name: 'carrier-simulator',
      commonName: 'carrier-simulator',
      dns: ['localhost'],
      ips: ['127.0.0.1'],
      usage: 'server',
    }),
    client: ca.issue({ name: 'worker-client', commonName: 'anshim-worker', usage: 'client' }),
  };
}

/** Deterministic fake recipients: distinct valid mobile numbers and names. */
export function* fakeRecipients(count: number, start = 0): Generator<IRecipientPayload> {
  const family = ['김', '이', '박', '최', '정', '강', '조', '윤'];
  for (let i = start; i < start + count; i++) {
    yield {
      phone: `010${String(20000000 + i).padStart(8, '0')}`,
      name: `${family[i % family.length]}민${i % 10}`,
      vars: { store: '강남점', code: String(1000 + (i % 9000)) },
      consent: { advertising: true, night: false, consentedAtMs: Date.now() },
    };
  }
}
