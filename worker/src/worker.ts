import * as grpc from '@grpc/grpc-js';
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { saslConfig, type KafkaCredentials } from '@anshim/kafka';
import { createLogger, type CarrierId, type Logger } from '@anshim/core';
import type { CampaignDirectory } from './campaign.ts';
import { CarrierLink } from './carrier-link.ts';
import { Dispatcher } from './dispatcher.ts';
import type { CampaignKeySource, CarrierKeys } from './keys.ts';
import { PreparePool } from './pool.ts';
import { DispatchRate } from './dispatch-rate.ts';
import { BatchProcessor } from './processor.ts';
import { ProgressCounters } from './progress.ts';
import { AuditChain, KafkaAuditStore } from '@anshim/compliance';
import { DecryptAudit } from './decrypt-audit.ts';
import { OptOutList } from './opt-outs.ts';
import { ReportsPump } from './reports.ts';
import { BatchingSink } from './sink.ts';
import {
  CAMPAIGN_HEADER,
  NOT_BEFORE_HEADER,
  TOPICS,
  encodeProgress,
  progressKey,
  type CampaignProgress,
  type CarrierEndpoint,
} from '@anshim/api';
import { observePool, traceBatch } from './telemetry.ts';

export interface WorkerConfig {
  workerId: string;
  brokers: string[];
  /** The worker's Kafka user (its grants: read campaign topics, write reports, progress, dead letters). */
  kafkaCredentials?: KafkaCredentials;
  groupId: string;
  topics: Array<string | RegExp>;
  carriers: Partial<Record<CarrierId, CarrierEndpoint>>;
  carrierKeys: CarrierKeys;
  /** Mutual TLS to carriers: CA that signed the carriers' certs, and this worker's client cert. */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer; serverName?: string };
  portabilitySeed?: string;
  poolThreads?: number;
  /** A prebuilt pool task (see bundle.ts); default: task.ts through tsx. */
  poolTaskFile?: string;
  partitionsConsumedConcurrently?: number;
  /** Records per pool task and per SubmitRequest. */
  chunkSize?: number;
  maxAttempts?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Kafka group session timeout: how long a crashed worker holds its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /** Follow the carriers' delivery-report streams (one worker per fleet is enough). */
  followReports?: boolean;
  /** Campaigns whose reports to follow (default: all). */
  reportCampaigns?: string[];
  /** Topics of advertisements held for the night window (see holdTopic). */
  holdTopics?: string[];
  /** The fleet's opt-out list key: required to send advertising. */
  optOutKey?: Uint8Array;
  /** The clock the night window is judged by (tests move it). */
  now?: () => number;
  /** Append decryption counts to this worker's audit chain (`worker.<workerId>` on anshim.audit). */
  auditDecrypts?: boolean;
  /** messagesPerSecond by campaign: the campaign's workers together dispatch no faster (dispatch-rate.ts). */
  dispatchRates?: Record<string, number>;
}

export interface WorkerDeps {
  campaigns: CampaignDirectory;
  keys: CampaignKeySource;
  log?: Logger;
}

/**
 * One worker process: a consumer-group member that prepares records in its piscina pool,
 * dispatches them to carriers, and commits a record's offset only once it is final.
 */
export class MessagingWorker {
  readonly progress: ProgressCounters;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private pool: PreparePool | undefined;
  private links = new Map<CarrierId, CarrierLink>();
  private pumps: ReportsPump[] = [];
  private progressTimer: NodeJS.Timeout | undefined;
  private sink: BatchingSink | undefined;
  private holdConsumer: Consumer | undefined;
  private optOuts: OptOutList | undefined;
  private readonly holdTimers = new Set<NodeJS.Timeout>();
  /** Partition-share lookups in flight (each holds an admin connection until it settles). */
  private readonly sharesAsked = new Set<Promise<void>>();
  private poolGauges: { close(): void } | undefined;
  private decryptAudit: DecryptAudit | undefined;

  constructor(
    private readonly config: WorkerConfig,
    private readonly deps: WorkerDeps,
  ) {
    this.log = deps.log ?? createLogger('worker');
    this.progress = new ProgressCounters(config.workerId);
    this.kafka = new Kafka({
      clientId: `anshim-worker-${config.workerId}`,
      brokers: config.brokers,
      ...saslConfig(config.kafkaCredentials),
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => this.log.warn({ kafka: entry.namespace, error: entry.log.error }, entry.log.message),
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
  }

  /**
   * A paced campaign's batch is fetched about a second's worth per partition: a rebalance waits
   * for every batch in flight to finish, so a batch that takes long to send at the campaign's
   * rate would keep the fleet at its old shares (a worker gone, its partitions unsent) as long.
   */
  private async fetchBytesPerPartition(): Promise<number> {
    const UNPACED = 512 * 1024;
    const rate = Object.values(this.config.dispatchRates ?? {}).reduce((a, b) => a + b, 0);
    const topics = this.config.topics.filter((t): t is string => typeof t === 'string');
    if (rate <= 0 || topics.length === 0) return UNPACED;
    // Kafka not answering yet: start with the unpaced size rather than not at all (it only bounds fetches).
    const total = await this.shareOf(Object.fromEntries(topics.map((t) => [t, []]))).then(
      (s) => s.total,
      () => 0,
    );
    if (total === 0) return UNPACED;
    // ~400 bytes a sealed record, a second of the campaign's rate over its partitions.
    const bytes = Math.ceil((rate / total) * 400);
    return Math.min(UNPACED, Math.max(16 * 1024, bytes));
  }

  /** Partitions the group assigned this worker, and all the partitions of those topics. */
  private async shareOf(assignment: Record<string, number[]>): Promise<{ assigned: number; total: number }> {
    const topics = Object.keys(assignment);
    const assigned = topics.reduce((n, t) => n + (assignment[t]?.length ?? 0), 0);
    if (topics.length === 0) return { assigned: 0, total: 0 };
    const asked = (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
        const { topics: meta } = await admin.fetchTopicMetadata({ topics });
        return { assigned, total: meta.reduce((n, t) => n + t.partitions.length, 0) };
      } finally {
        // A connect that failed half-way still holds a socket until disconnect closes it.
        await admin.disconnect().catch(() => undefined);
      }
    })();
    // A rebalance late in the run starts one of these without waiting on it; stop() waits for
    // them so no admin connection outlives the worker (CI caught one keeping a process alive).
    const settled = asked.then(
      () => undefined,
      () => undefined,
    );
    this.sharesAsked.add(settled);
    void settled.then(() => this.sharesAsked.delete(settled));
    return asked;
  }

  /** Entries on the opt-out list this worker follows (tags, never numbers): 0 when it follows none. */
  get optOutCount(): number {
    return this.optOuts?.size ?? 0;
  }

  async start(): Promise<void> {
    const c = this.config;
    const credentials = c.tls
      ? grpc.credentials.createSsl(c.tls.ca, c.tls.key, c.tls.cert)
      : grpc.credentials.createInsecure();
    // Unset, gRPC verifies each carrier's certificate against the host of its address (the
    // fleet's carrierServerName overrides it, e.g. for carriers reached by IP).
    const serverName = c.tls?.serverName;
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.sink = new BatchingSink(this.producer, c.workerId);
    if (c.auditDecrypts) {
      const chain = await AuditChain.open(await KafkaAuditStore.connect(this.kafka), `worker.${c.workerId}`);
      this.decryptAudit = new DecryptAudit(chain, `system:worker:${c.workerId}`, this.log);
    }
    if (c.optOutKey) {
      this.optOuts = new OptOutList(this.kafka, `anshim.optouts.${c.workerId}`, this.log);
      await this.optOuts.start();
    }
    this.pool = new PreparePool({ threads: c.poolThreads, taskFile: c.poolTaskFile });
    this.poolGauges = observePool(this.pool);
    for (const [carrier, endpoint] of Object.entries(c.carriers) as Array<[CarrierId, CarrierEndpoint]>) {
      this.links.set(carrier, new CarrierLink({ carrier, address: endpoint.address, credentials, serverName }));
      if (c.followReports !== false) {
        const opts: grpc.ChannelOptions = serverName
          ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName }
          : {};
        this.pumps.push(
          new ReportsPump(carrier, endpoint.address, credentials, opts, {
            sink: this.sink,
            progress: this.progress,
            campaigns: this.deps.campaigns,
            workerId: c.workerId,
            log: this.log,
            campaignIds: c.reportCampaigns ?? [],
          }),
        );
      }
    }
    const consumer = this.kafka.consumer({
      groupId: c.groupId,
      sessionTimeout: c.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((c.sessionTimeoutMs ?? 30_000) / 3)),
      maxWaitTimeInMs: 50,
      // Bounded fetches bound the worker's memory: everything fetched is in flight at once.
      maxBytes: 4 * 1024 * 1024,
      maxBytesPerPartition: await this.fetchBytesPerPartition(),
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    // kafkajs only hands out heartbeat() inside eachBatch; retries waiting on a carrier use the latest one.
    let heartbeatNow: () => Promise<void> = async () => undefined;
    const keepMembership = async () => {
      await heartbeatNow().catch(() => undefined);
    };
    const dispatcher = new Dispatcher(this.links, {
      maxAttempts: c.maxAttempts ?? 10,
      backoff: c.backoff ?? { baseMs: 100, maxMs: 10_000 },
      batchSize: c.chunkSize ?? 500,
      onWait: keepMembership,
    });
    // The campaign's rate, divided by partition share: re-divided on every rebalance.
    const pace = new DispatchRate(new Map(Object.entries(c.dispatchRates ?? {})), { onWait: keepMembership });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      void this.shareOf(payload.memberAssignment).then(
        ({ assigned, total }) => {
          pace.setShare(assigned, total);
          this.log.info({ assigned, total }, 'partitions assigned: dispatching at that share of each campaign rate');
        },
        (err: Error) => this.log.warn({ err: err.name }, 'partition share unknown; pacing at the last share'),
      );
    });
    const processor = new BatchProcessor({
      pace,
      pool: this.pool,
      dispatcher,
      campaigns: this.deps.campaigns,
      keys: this.deps.keys,
      carrierKeys: c.carrierKeys,
      portabilitySeed: c.portabilitySeed ?? 'anshim-krnp',
      sink: this.sink,
      progress: this.progress,
      workerId: c.workerId,
      optOuts: this.optOuts,
      optOutKey: c.optOutKey,
      now: c.now,
      decryptAudit: this.decryptAudit,
    });
    if (c.holdTopics?.length) await this.startHoldConsumer(c.holdTopics, processor);
    await consumer.connect();
    await consumer.subscribe({ topics: c.topics, fromBeginning: true });
    const chunkSize = c.chunkSize ?? 500;
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 500,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently ?? 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        heartbeatNow = heartbeat;
        if (!isRunning() || isStale()) return;
        // Chunks of one batch run concurrently (pool and carrier links pipeline them); the
        // batch's offset is resolved only when every chunk in it is final.
        const chunks: KafkaMessage[][] = [];
        for (let i = 0; i < batch.messages.length; i += chunkSize) chunks.push(batch.messages.slice(i, i + chunkSize));
        await traceBatch(batch, c.groupId, () =>
          Promise.all(
            chunks.map((chunk) =>
              Promise.all(
                [...groupByCampaign(chunk)].map(([campaignId, values]) => processor.process(campaignId, values)),
              ),
            ),
          ),
        );
        const last = batch.messages[batch.messages.length - 1];
        if (last) resolveOffset(last.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
    this.progressTimer = setInterval(() => this.publishProgress(), 1000);
    this.log.info(
      { workerId: c.workerId, carriers: Object.keys(c.carriers), threads: this.pool.threads },
      'worker started',
    );
  }

  /**
   * Held advertisements wait in their hold topic; a partition pauses until its first record's
   * not-before time (08:00 KST) and then flows through the same processor as fresh records.
   */
  private async startHoldConsumer(topics: string[], processor: BatchProcessor): Promise<void> {
    const now = this.config.now ?? Date.now;
    const consumer = this.kafka.consumer({ groupId: `${this.config.groupId}.hold`, maxWaitTimeInMs: 500 });
    this.holdConsumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, pause, commitOffsetsIfNecessary, isRunning, isStale }) => {
        const due: KafkaMessage[] = [];
        for (const m of batch.messages) {
          if (!isRunning() || isStale()) break;
          const notBefore = Number(m.headers?.[NOT_BEFORE_HEADER]?.toString() ?? 0);
          if (notBefore > now()) {
            const resume = pause();
            const timer = setTimeout(
              () => {
                this.holdTimers.delete(timer);
                resume();
              },
              // Re-checked every second: cheap (one fetch per held partition) and follows a moved clock.
              Math.min(notBefore - now(), 1000),
            );
            this.holdTimers.add(timer);
            break;
          }
          due.push(m);
        }
        if (due.length === 0) return;
        await Promise.all(
          [...groupByCampaign(due)].map(([campaignId, values]) => processor.process(campaignId, values)),
        );
        resolveOffset(due[due.length - 1]!.offset);
        await commitOffsetsIfNecessary();
      },
    });
  }

  private publishProgress(): void {
    for (const p of this.progress.takeDirty()) {
      this.sink?.push(TOPICS.progress, [{ key: progressKey(p), value: encodeProgress(p) }]);
    }
  }

  /** A summary for logs and benchmarks: counts and produce-to-ack latency, no personal data. */
  stats(): { campaigns: CampaignProgress[]; ackLatencyMs: { p50: number; p99: number; max: number; count: number } } {
    const h = this.progress.ackLatencyUs;
    return {
      campaigns: this.progress.all(),
      ackLatencyMs: { p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, max: h.max / 1000, count: h.count },
    };
  }

  /** Graceful stop: no new fetches, in-flight batches finish and commit, reports flushed, then close. */
  async stop(): Promise<void> {
    if (this.progressTimer) clearInterval(this.progressTimer);
    await this.consumer?.stop();
    await this.consumer?.disconnect();
    await Promise.all(this.sharesAsked);
    for (const t of this.holdTimers) clearTimeout(t);
    await this.decryptAudit?.stop();
    await this.holdConsumer?.disconnect();
    await this.optOuts?.stop();
    await Promise.all(this.pumps.map((p) => p.stop()));
    this.publishProgress();
    await this.sink?.flush().catch((err: Error) => this.log.error({ err: err.message }, 'final flush failed'));
    for (const link of this.links.values()) link.close();
    this.poolGauges?.close();
    await this.pool?.close();
    await this.producer?.disconnect();
    this.log.info({ workerId: this.config.workerId }, 'worker stopped');
  }
}

function groupByCampaign(messages: KafkaMessage[]): Map<string, Buffer[]> {
  const groups = new Map<string, Buffer[]>();
  for (const m of messages) {
    const header = m.headers?.[CAMPAIGN_HEADER];
    const campaignId = header ? header.toString() : '';
    const list = groups.get(campaignId);
    const value = m.value ?? Buffer.alloc(0);
    if (list) list.push(value);
    else groups.set(campaignId, [value]);
  }
  return groups;
}
