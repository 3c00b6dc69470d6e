import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LocalKekProvider, unwrapDataKey, type CarrierId } from '@anshim/core';
import { StaticCampaignDirectory, type CampaignSpec } from './campaign.ts';
import { StaticCampaignKeys } from './keys.ts';
import type { WorkerConfig } from './worker.ts';

/**
 * The worker's configuration as mounted into its pod: endpoints and tuning from a ConfigMap,
 * transport keys and the key-encryption key from Secrets. Campaign data keys arrive wrapped.
 */
export interface WorkerFile {
  workerId?: string;
  brokers: string[];
  groupId: string;
  /** Topic names; one written as /regex/ subscribes by pattern. */
  topics: string[];
  carriers: WorkerConfig['carriers'];
  carrierKeys: Array<{ carrier: CarrierId; id: string; materialHex: string }>;
  tls?: { caFile: string; certFile: string; keyFile: string; serverName?: string };
  kek: { id: string; file: string };
  campaigns: Array<{ spec: CampaignSpec; wrappedKeys: string[] }>;
  poolThreads?: number;
  partitionsConsumedConcurrently?: number;
  chunkSize?: number;
  maxAttempts?: number;
  followReports?: boolean;
  sessionTimeoutMs?: number;
}

export class WorkerConfigError extends Error {
  override readonly name = 'WorkerConfigError';
}

export async function loadWorkerFile(path: string) {
  let file: WorkerFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as WorkerFile;
  } catch (err) {
    throw new WorkerConfigError(`cannot read worker config ${path}: ${(err as Error).message}`);
  }
  for (const field of ['brokers', 'groupId', 'topics', 'carriers', 'kek', 'campaigns'] as const) {
    if (file[field] === undefined) throw new WorkerConfigError(`worker config ${path} lacks "${field}"`);
  }
  const kek = new LocalKekProvider(file.kek.id, Buffer.from(readFileSync(file.kek.file, 'utf8').trim(), 'hex'));
  const campaigns = new StaticCampaignDirectory();
  const keys = new StaticCampaignKeys();
  for (const c of file.campaigns) {
    campaigns.set(c.spec);
    for (const wrapped of c.wrappedKeys) {
      const key = await unwrapDataKey([kek], Buffer.from(wrapped, 'base64'));
      keys.add(c.spec.id, { id: key.id, material: key.material });
    }
  }
  const config: WorkerConfig = {
    workerId: process.env.ANSHIM_WORKER_ID ?? file.workerId ?? hostname(),
    brokers: file.brokers,
    groupId: file.groupId,
    topics: file.topics.map((t) => (t.startsWith('/') && t.endsWith('/') ? new RegExp(t.slice(1, -1)) : t)),
    carriers: file.carriers,
    carrierKeys: file.carrierKeys.map((k) => ({
      carrier: k.carrier,
      id: k.id,
      material: Buffer.from(k.materialHex, 'hex'),
    })),
    tls: file.tls && {
      ca: readFileSync(file.tls.caFile),
      cert: readFileSync(file.tls.certFile),
      key: readFileSync(file.tls.keyFile),
      serverName: file.tls.serverName,
    },
    poolThreads: file.poolThreads,
    partitionsConsumedConcurrently: file.partitionsConsumedConcurrently,
    chunkSize: file.chunkSize,
    maxAttempts: file.maxAttempts,
    followReports: file.followReports,
    sessionTimeoutMs: file.sessionTimeoutMs,
  };
  return { config, campaigns, keys };
}
