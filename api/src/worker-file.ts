// The worker's configuration file (`worker.json` in the Secret the operator writes for each
// campaign, mounted into the worker pod): the contract between operator and worker.
import type { CarrierId } from '@anshim/core';
import type { CampaignChannel, Purpose } from './vocabulary.ts';

/**
 * What a worker needs to know of a campaign: everything but its recipients. Serialisable,
 * because it crosses into the pool's threads.
 */
export interface CampaignSpec {
  id: string;
  channel: CampaignChannel;
  /** Channels tried in order when the primary one fails for the recipient (e.g. ALIMTALK → TEXT). */
  fallback: CampaignChannel[];
  /** Body with `#{name}` / `#{var}` placeholders, as Kakao and Korean SMS templates write them. */
  template: string;
  /** AlimTalk registered template code. */
  templateCode?: string;
  senderNumber: string;
  /** Carriers allowed to process this campaign's data (purpose binding: nobody else gets it). */
  processors: CarrierId[];
  /** Messages not delivered within this many ms of enqueueing expire at the carrier (0 = never). */
  ttlMs: number;
  /**
   * spec.schedule.notAfter in ms since the epoch: nothing is delivered after it (the carrier
   * expires what is still queued). Absolute, so the worker file does not change as time passes.
   */
  notAfterMs?: number;
  /** What the recipients' data was collected for; advertising enforces consent, the night window and opt-outs. */
  purpose?: Purpose;
  /** The sender's free opt-out line (080…): opt-outs are kept per line. */
  optOutNumber?: string;
  /**
   * spec.rateLimit.messagesPerSecond: all of the campaign's workers together dispatch no faster
   * (each at its share of the topic's partitions). Unset: not paced.
   */
  messagesPerSecond?: number;
}

export interface CarrierEndpoint {
  address: string;
}

/**
 * The worker's configuration as mounted into its pod. Transport keys and the key-encryption
 * key come from Secrets; campaign data keys arrive wrapped.
 */
export interface WorkerFile {
  workerId?: string;
  brokers: string[];
  /** The worker's Kafka user: files mounted from the fleet's `kafka.sasl.secretName` Secret. */
  kafkaSasl?: { mechanism: string; usernameFile: string; passwordFile: string };
  groupId: string;
  /** Topic names; one written as /regex/ subscribes by pattern. */
  topics: string[];
  carriers: Partial<Record<CarrierId, CarrierEndpoint>>;
  /** Inline carrier keys, or `carrierKeysFile`: a mounted JSON file of the same shape. */
  carrierKeys?: Array<{ carrier: CarrierId; id: string; materialHex: string }>;
  carrierKeysFile?: string;
  tls?: { caFile: string; certFile: string; keyFile: string; serverName?: string };
  /**
   * What the worker unwraps its campaigns' data keys with, mounted from the namespace's KEK
   * Secret: a KMS (transit) token that may decrypt this namespace's campaign keys, or (development)
   * a local namespace KEK file.
   */
  kek: { id: string; file: string } | { id: string; transit: { address: string; mount: string; tokenFile: string } };
  campaigns: Array<{ spec: CampaignSpec; wrappedKeys: string[] }>;
  /** Topics of advertisements held for the night window. */
  holdTopics?: string[];
  /** Append decryption counts to the audit chain (the operator sets it for every campaign worker). */
  auditDecrypts?: boolean;
  /** Hex file with the fleet's opt-out list key (required for advertising campaigns). */
  optOutKeyFile?: string;
  poolThreads?: number;
  partitionsConsumedConcurrently?: number;
  chunkSize?: number;
  maxAttempts?: number;
  followReports?: boolean;
  sessionTimeoutMs?: number;
}

/** The fields a worker refuses to start without. */
export const REQUIRED_WORKER_FILE_FIELDS = ['brokers', 'groupId', 'topics', 'carriers', 'kek', 'campaigns'] as const;

/** Where the worker Secret's file is mounted in the pod, and its key in the Secret. */
export const WORKER_FILE_KEY = 'worker.json';

/** The bundled worker entry point, relative to the working directory (/app in the image). */
export const WORKER_BUNDLE_MAIN = 'worker/dist/main.mjs';

/**
 * The worker container's command, the same as the image's CMD (the operator's Deployments,
 * the local runner and bench:dispatch run it too). The semi-space size trades memory for
 * speed: the main thread's garbage is mostly short-lived, so a larger young generation saves
 * promotions and full collections (bench:dispatch figures in the README).
 */
export const WORKER_COMMAND = ['node', '--max-semi-space-size=8', WORKER_BUNDLE_MAIN];
