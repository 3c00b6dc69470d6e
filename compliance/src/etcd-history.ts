// Every revision etcd still holds of one key, read through etcd's own JSON gateway (/v3/kv/range,
// served on the client port): what an auditor asks of a cluster's store, or of an etcd restored
// from a backup. Walks back from the newest revision through each value's mod_revision − 1, so it
// reads this key's revisions only, however busy the store; it stops where etcd compacted history
// (older revisions survive only in snapshots, which an auditor restores and reads the same way).
export class EtcdHistoryError extends Error {
  override readonly name = 'EtcdHistoryError';
}

export interface KeyRevision {
  modRevision: number;
  version: number;
  value: Buffer;
}

interface RangeAnswer {
  header?: { revision?: string };
  kvs?: Array<{ key?: string; mod_revision?: string; create_revision?: string; version?: string; value?: string }>;
  error?: string;
  message?: string;
  code?: number;
}

async function range(endpoint: string, key: string, revision?: number, rangeEnd?: string): Promise<RangeAnswer> {
  let res: Response;
  try {
    res = await fetch(`${endpoint.replace(/\/+$/, '')}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({
        key: Buffer.from(key).toString('base64'),
        ...(rangeEnd ? { range_end: Buffer.from(rangeEnd, 'latin1').toString('base64') } : {}),
        ...(revision ? { revision: String(revision) } : {}),
      }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new EtcdHistoryError(
      `etcd at ${endpoint} did not answer: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as RangeAnswer;
  if (!res.ok) {
    const message = body.message ?? body.error ?? `HTTP ${res.status}`;
    if (/compacted/.test(message)) return { kvs: [], error: 'compacted' };
    throw new EtcdHistoryError(`etcd refused the range read: ${message}`);
  }
  return body;
}

/** Every key under `prefix` with its value, as of `revision` (default: now); and the store's revision. */
export async function keysWithPrefix(
  endpoint: string,
  prefix: string,
  revision?: number,
): Promise<{ revision: number; keys: Array<{ key: string; value: Buffer }> }> {
  // The range end of a prefix: the prefix with its last byte incremented (etcd's convention).
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  const answer = await range(endpoint, prefix, revision, end.toString('latin1'));
  if (answer.error === 'compacted') throw new EtcdHistoryError(`revision ${revision} is compacted`);
  return {
    revision: Number(answer.header?.revision ?? 0),
    keys: (answer.kvs ?? []).map((kv) => ({
      key: Buffer.from(kv.key ?? '', 'base64').toString('latin1'),
      value: Buffer.from(kv.value ?? '', 'base64'),
    })),
  };
}

/**
 * The key's revisions, newest first. `fromRevision` starts the walk at a revision of its own
 * (the key deleted since: pass a revision at which it still existed).
 */
export async function keyHistory(
  endpoint: string,
  key: string,
  fromRevision?: number,
): Promise<{ revisions: KeyRevision[]; compacted: boolean }> {
  const revisions: KeyRevision[] = [];
  let at = fromRevision;
  for (;;) {
    const answer = await range(endpoint, key, at);
    if (answer.error === 'compacted') return { revisions, compacted: true };
    const kv = answer.kvs?.[0];
    if (!kv) return { revisions, compacted: false };
    const modRevision = Number(kv.mod_revision);
    revisions.push({ modRevision, version: Number(kv.version), value: Buffer.from(kv.value ?? '', 'base64') });
    if (modRevision <= Number(kv.create_revision)) return { revisions, compacted: false };
    at = modRevision - 1;
  }
}
