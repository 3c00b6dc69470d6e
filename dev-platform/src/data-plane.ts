// Shared set-up for the worker's integration tests and benchmark: real Kafka topics, sealed
// campaign records, and certificates from the local stack's CA.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import {
  carrierKeyFromFleetSecret,
  LocalKekProvider,
  sealCampaignRecord,
  type CarrierId,
  type DataKey,
} from '@anshim/core';
import { kafkaAccess, LocalCa, requireStack, type KafkaPrincipal } from '@anshim/stack';
import type { KafkaCredentials } from '@anshim/kafka';
import { injectKafkaHeaders } from '@anshim/telemetry';
import { ReportBatchRecord, type IRecipientPayload, type ReportRecord } from '@anshim/proto';
import { startCarrierSimulator, type CarrierSimulator, type CarrierSimulatorOptions } from '@anshim/simulator';
import { type CarrierKeys, type WorkerConfig } from '@anshim/worker';
import {
  CAMPAIGN_HEADER,
  campaignTopic,
  ensureDataPlaneTopics,
  TOPICS,
  workerGroupId,
  type CampaignSpec,
  type WorkerFile,
} from '@anshim/api';

/** A client of the stack's Kafka: as its super user (tests' set-up and reads), or as a component's user. */
export function stackKafka(clientId = 'anshim-test', principal: KafkaPrincipal = 'admin'): Kafka {
  return new Kafka({ clientId, ...kafkaAccess(principal), logLevel: logLevel.NOTHING });
}

/** A component's stack Kafka user, as its configuration carries it. */
export const stackCredentials = (principal: KafkaPrincipal): KafkaCredentials => kafkaAccess(principal).sasl;

/** A component's stack Kafka user: its name and password file. */
function stackUser(principal: KafkaPrincipal): { username: string; passwordFile: string } {
  const user = requireStack().kafka.users?.[principal];
  if (!user) throw new Error("the stack's Kafka has no users: run `npm run stack -- up`");
  return user;
}

/** A component's stack Kafka user as its process reads it (ANSHIM_KAFKA_*, the password a file). */
export function kafkaEnv(principal: KafkaPrincipal): Record<string, string> {
  const { username, passwordFile } = stackUser(principal);
  return {
    ANSHIM_KAFKA_SASL_MECHANISM: stackCredentials(principal).mechanism,
    ANSHIM_KAFKA_USERNAME: username,
    ANSHIM_KAFKA_PASSWORD_FILE: passwordFile,
  };
}

/** The worker file's Kafka user (the stack's worker user), its username written to a file under `dir`. */
export function workerKafkaFile(dir: string): Pick<WorkerFile, 'kafkaSasl'> {
  const { username, passwordFile } = stackUser('worker');
  const usernameFile = join(dir, 'kafka-username');
  writeFileSync(usernameFile, username, { mode: 0o600 });
  return { kafkaSasl: { mechanism: stackCredentials('worker').mechanism, usernameFile, passwordFile } };
}

/** The Secret a fleet's workers mount as their Kafka user (fleet `kafka.sasl.secretName`). */
export const WORKER_KAFKA_SECRET = 'anshim-kafka-worker';
export function workerKafkaSecretData(): { username: string; password: string } {
  const { username, password } = stackCredentials('worker');
  return { username, password };
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
  // A fresh KRaft broker may answer UNKNOWN_TOPIC_OR_PARTITION (code 3) while kafkajs waits
  // for a new topic's leaders; it only retries LEADER_NOT_AVAILABLE itself.
  for (let attempt = 1; ; attempt++) {
    try {
      return await createTopicsOnce(kafka, topic, partitions);
    } catch (err) {
      if ((err as { code?: number }).code !== 3 || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function createTopicsOnce(kafka: Kafka, topic: string, partitions: number): Promise<void> {
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
    // As the gateway does: the active span's traceparent rides along (nothing when tracing is off).
    messages.push({ key: recordId, value, headers: injectKafkaHeaders({ [CAMPAIGN_HEADER]: campaignId }) });
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

/**
 * Polls `probe` until it holds. On timeout the error carries `lastSeen()`, so a failure says what
 * the condition was still missing rather than only that it never came.
 */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  lastSeen?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastSeen ? `; last seen: ${lastSeen()}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads every record of `topic` whose key is `key`, until `enough(found)` or the time is up. */
export async function readKeyed(
  kafka: Kafka,
  topic: string,
  key: string,
  enough: number | ((found: Buffer[]) => boolean),
  timeoutMs = 30_000,
): Promise<Buffer[]> {
  const done = typeof enough === 'number' ? (f: Buffer[]) => f.length >= enough : enough;
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${key}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const found: Buffer[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.key?.toString() === key && message.value) found.push(message.value);
    },
  });
  try {
    await waitFor(`records keyed ${key} on ${topic}`, () => done(found), timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return found;
}

/** A campaign's delivery reports from the reports topic, unpacked from their batch records. */
export async function readReports(
  kafka: Kafka,
  campaignId: string,
  count: number,
  timeoutMs = 60_000,
): Promise<ReportRecord[]> {
  const unpack = (values: Buffer[]) => values.flatMap((v) => ReportBatchRecord.decode(v).reports as ReportRecord[]);
  return unpack(await readKeyed(kafka, TOPICS.reports, campaignId, (f) => unpack(f).length >= count, timeoutMs));
}

export const TEST_CARRIERS: CarrierId[] = ['skt', 'kt', 'lguplus', 'kakao'];

/** Carrier simulators over mTLS with transport keys derived from one fleet secret, as the stack runs them. */
export class TestCarriers {
  readonly fleetSecret = randomBytes(32);
  readonly sims = new Map<CarrierId, CarrierSimulator>();
  readonly tls = carrierTlsFiles();

  async start(opts: Partial<CarrierSimulatorOptions> = {}, carriers = TEST_CARRIERS): Promise<this> {
    for (const carrier of carriers) {
      this.sims.set(
        carrier,
        await startCarrierSimulator({
          carrier,
          transportKey: carrierKeyFromFleetSecret(carrier, this.fleetSecret),
          tls: {
            ca: readFileSync(this.tls.ca),
            cert: readFileSync(this.tls.server.cert),
            key: readFileSync(this.tls.server.key),
          },
          kakaoTemplates: ['ORDER_SHIPPED'],
          deliveryDelayMs: 5,
          ...opts,
        }),
      );
    }
    return this;
  }

  sim(carrier: CarrierId): CarrierSimulator {
    const s = this.sims.get(carrier);
    if (!s) throw new Error(`no simulator for ${carrier}`);
    return s;
  }

  /** Distinct logical messages of a campaign accepted, summed over carriers. */
  accepted(campaignId: string, carriers: CarrierId[] = [...this.sims.keys()]): number {
    return carriers.reduce((n, c) => n + (this.sims.get(c)?.ledger.campaign(campaignId)?.messages ?? 0), 0);
  }

  /** Messages accepted a second time under another idempotency key: a duplicate reached a handset. */
  reaccepted(campaignId: string): number {
    return [...this.sims.values()].reduce((n, s) => n + (s.ledger.campaign(campaignId)?.reaccepted ?? 0), 0);
  }

  carrierKeys(): CarrierKeys {
    return [...this.sims.keys()].map((c) => {
      const k = carrierKeyFromFleetSecret(c, this.fleetSecret);
      return { carrier: c, id: k.id, material: k.material };
    });
  }

  workerConfig(spec: CampaignSpec, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
    return {
      workerId: `w-${spec.id}`,
      brokers: requireStack().kafka.brokers,
      kafkaCredentials: stackCredentials('worker'),
      groupId: workerGroupId(spec.id),
      topics: [campaignTopic(spec.id)],
      carriers: Object.fromEntries([...this.sims].map(([c, s]) => [c, { address: s.address }])),
      carrierKeys: this.carrierKeys(),
      tls: {
        ca: readFileSync(this.tls.ca),
        cert: readFileSync(this.tls.client.cert),
        key: readFileSync(this.tls.client.key),
        serverName: 'localhost',
      },
      poolThreads: 2,
      backoff: { baseMs: 50, maxMs: 1000 },
      maxAttempts: 40,
      ...overrides,
    };
  }

  /** The same configuration as a worker process reads it from its mounted files (wrapped data key, key files). */
  async workerFile(
    dir: string,
    spec: CampaignSpec,
    dataKey: DataKey,
    overrides: Partial<WorkerFile> = {},
  ): Promise<string> {
    const kekMaterial = randomBytes(32);
    const kekFile = join(dir, `kek-${spec.id}.hex`);
    writeFileSync(kekFile, kekMaterial.toString('hex'), { mode: 0o600 });
    const wrapped = await new LocalKekProvider('test-kek', kekMaterial).wrap(dataKey, spec.id);
    const file: WorkerFile = {
      brokers: requireStack().kafka.brokers,
      ...workerKafkaFile(dir),
      groupId: workerGroupId(spec.id),
      topics: [campaignTopic(spec.id)],
      carriers: Object.fromEntries([...this.sims].map(([c, s]) => [c, { address: s.address }])),
      carrierKeys: this.carrierKeys().map((k) => ({
        carrier: k.carrier,
        id: k.id,
        materialHex: Buffer.from(k.material).toString('hex'),
      })),
      tls: {
        caFile: this.tls.ca,
        certFile: this.tls.client.cert,
        keyFile: this.tls.client.key,
        serverName: 'localhost',
      },
      kek: { id: 'test-kek', file: kekFile },
      campaigns: [{ spec, wrappedKeys: [wrapped.toString('base64')] }],
      poolThreads: 1,
      maxAttempts: 40,
      ...overrides,
    };
    const path = join(dir, `worker-${spec.id}.json`);
    writeFileSync(path, JSON.stringify(file, null, 2), { mode: 0o600 });
    return path;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sims.values()].map((s) => s.close()));
  }
}

export function textCampaign(id: string, overrides: Partial<CampaignSpec> = {}): CampaignSpec {
  return {
    id,
    channel: 'TEXT',
    fallback: [],
    template: '#{name}님, #{store} 주말 특가 안내',
    senderNumber: '15881234',
    processors: TEST_CARRIERS,
    ttlMs: 3_600_000,
    ...overrides,
  };
}

/** An AlimTalk notice (registered template ORDER_SHIPPED) falling back to SMS/LMS. */
export function alimTalkCampaign(id: string, overrides: Partial<CampaignSpec> = {}): CampaignSpec {
  return textCampaign(id, {
    channel: 'ALIMTALK',
    fallback: ['TEXT'],
    template: '#{name}님, 주문 #{code}이 발송되었습니다.',
    templateCode: 'ORDER_SHIPPED',
    ...overrides,
  });
}

/** Files under `dir` that contain any of `needles` (for canary scans). */
export function scanFiles(dir: string, needles: Buffer[]): string[] {
  const hits: string[] = [];
  // Kafka deletes topic directories while we walk; a file that vanished holds nothing to find.
  const gone = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    for (const entry of entries) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        let data: Buffer;
        try {
          data = readFileSync(path);
        } catch (err) {
          if (gone(err)) continue;
          throw err;
        }
        if (needles.some((n) => data.includes(n))) hits.push(path);
      }
    }
  };
  walk(dir);
  return hits;
}
