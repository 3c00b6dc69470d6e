import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LocalKekProvider, unwrapDataKey } from '@anshim/core';
import { readCredentials } from '@anshim/kafka';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { REQUIRED_WORKER_FILE_FIELDS, type WorkerFile } from '@anshim/api';
import { StaticCampaignDirectory } from './campaign.ts';
import { StaticCampaignKeys } from './keys.ts';
import type { WorkerConfig } from './worker.ts';

export type { WorkerFile } from '@anshim/api';

export class WorkerConfigError extends Error {
  override readonly name = 'WorkerConfigError';
}

/**
 * Absolute paths in the file are where Kubernetes mounts things; a local runner that
 * materialises the mounts under a directory sets ANSHIM_FS_ROOT to it (a chroot for paths only).
 */
const mounted = (path: string): string => (process.env.ANSHIM_FS_ROOT ? join(process.env.ANSHIM_FS_ROOT, path) : path);

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(mounted(path), 'utf8')) as T;
  } catch (err) {
    throw new WorkerConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

export async function loadWorkerFile(path: string) {
  const file = readJson<WorkerFile>(path, 'worker config');
  for (const field of REQUIRED_WORKER_FILE_FIELDS) {
    if (file[field] === undefined) throw new WorkerConfigError(`worker config ${path} lacks "${field}"`);
  }
  const carrierKeys =
    file.carrierKeys ??
    (file.carrierKeysFile
      ? readJson<NonNullable<WorkerFile['carrierKeys']>>(file.carrierKeysFile, 'carrier keys')
      : []);
  const kek =
    'transit' in file.kek
      ? new TransitKekProvider({
          client: new TransitClient({
            address: file.kek.transit.address,
            tokenFile: mounted(file.kek.transit.tokenFile),
          }),
          mount: file.kek.transit.mount,
          id: file.kek.id,
        })
      : new LocalKekProvider(file.kek.id, Buffer.from(readFileSync(mounted(file.kek.file), 'utf8').trim(), 'hex'));
  const campaigns = new StaticCampaignDirectory();
  const keys = new StaticCampaignKeys();
  for (const c of file.campaigns) {
    campaigns.set(c.spec);
    for (const wrapped of c.wrappedKeys) {
      const key = await unwrapDataKey([kek], Buffer.from(wrapped, 'base64'), c.spec.id);
      keys.add(c.spec.id, { id: key.id, material: key.material });
    }
  }
  const config: WorkerConfig = {
    workerId: process.env.ANSHIM_WORKER_ID ?? file.workerId ?? hostname(),
    brokers: file.brokers,
    ...(file.kafkaSasl
      ? {
          kafkaCredentials: readCredentials({
            mechanism: file.kafkaSasl.mechanism,
            usernameFile: mounted(file.kafkaSasl.usernameFile),
            passwordFile: mounted(file.kafkaSasl.passwordFile),
          }),
        }
      : {}),
    groupId: file.groupId,
    topics: file.topics.map((t) => (t.startsWith('/') && t.endsWith('/') ? new RegExp(t.slice(1, -1)) : t)),
    carriers: file.carriers,
    carrierKeys: carrierKeys.map((k) => ({
      carrier: k.carrier,
      id: k.id,
      material: Buffer.from(k.materialHex, 'hex'),
    })),
    tls: file.tls && {
      ca: readFileSync(mounted(file.tls.caFile)),
      cert: readFileSync(mounted(file.tls.certFile)),
      key: readFileSync(mounted(file.tls.keyFile)),
      serverName: file.tls.serverName,
    },
    holdTopics: file.holdTopics,
    auditDecrypts: file.auditDecrypts,
    optOutKey: file.optOutKeyFile
      ? Buffer.from(readFileSync(mounted(file.optOutKeyFile), 'utf8').trim(), 'hex')
      : undefined,
    poolThreads: file.poolThreads,
    partitionsConsumedConcurrently: file.partitionsConsumedConcurrently,
    chunkSize: file.chunkSize,
    maxAttempts: file.maxAttempts,
    followReports: file.followReports,
    // A campaign's workers follow only its reports, so fleets of campaigns do not steal each other's.
    reportCampaigns: file.campaigns.map((c) => c.spec.id),
    dispatchRates: Object.fromEntries(
      file.campaigns.flatMap((c) => (c.spec.messagesPerSecond ? [[c.spec.id, c.spec.messagesPerSecond]] : [])),
    ),
    sessionTimeoutMs: file.sessionTimeoutMs,
  };
  return { config, campaigns, keys };
}
