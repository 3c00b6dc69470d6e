// An append-only JSONL audit file: one entry a line, each append written whole and
// fdatasync-ed before it is acknowledged. Several chains may share a file; each chain's
// tail is found by reading the file backwards, so a restart costs a few reads, not a scan.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { entryShapeProblem, type AuditEntry } from './audit-entry.ts';
import { AuditStoreError, type AuditStore } from './audit-store.ts';

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
}

/** Parses one stored line; throws AuditStoreError naming the byte offset (never the content). */
export function parseAuditLine(line: string, where: string): AuditEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new AuditStoreError('corrupt-record', `${where}: not JSON`);
  }
  const problem = entryShapeProblem(value);
  if (problem !== undefined) throw new AuditStoreError('corrupt-record', `${where}: ${problem}`);
  return value as AuditEntry;
}

export class FileAuditStore implements AuditStore {
  #writes: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    /** Bytes of an unacknowledged, half-written last line removed on open (a crash mid-append). */
    readonly repairedTornBytes: number,
  ) {}

  get description(): string {
    return `file ${this.path}`;
  }

  /** Opens (creating if needed) the file for appending; repairs a torn last line left by a crash. */
  static async open(path: string): Promise<FileAuditStore> {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a+', 0o640);
    try {
      const { size } = await handle.stat();
      if (size === 0) await syncDirectory(dirname(path)); // the new file's name must survive a crash too
      return new FileAuditStore(path, handle, await repairTornTail(handle, size));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async tail(chain: string): Promise<AuditEntry | undefined> {
    this.#assertOpen();
    await this.#writes;
    for await (const { line, offset } of linesBackwards(this.handle)) {
      const entry = parseAuditLine(line, `${this.path} at byte ${offset}`);
      if (entry.chain === chain) return entry;
    }
    return undefined;
  }

  append(entry: AuditEntry): Promise<void> {
    this.#assertOpen();
    const bytes = Buffer.from(JSON.stringify(entry) + '\n', 'utf8');
    const write = this.#writes.then(async () => {
      try {
        await writeAll(this.handle, bytes);
        await this.handle.datasync();
      } catch (err) {
        throw new AuditStoreError('write-failed', `${this.path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
          cause: err,
        });
      }
    });
    this.#writes = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes;
    await this.handle.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new AuditStoreError('closed', this.path);
  }
}

/**
 * A last line without its newline is an append that crashed before it was acknowledged. If
 * it is a whole entry we only add the newline; otherwise we cut it off. Returns bytes removed.
 */
async function repairTornTail(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === NEWLINE) return 0;
  let lineStart = 0;
  for await (const { offset } of linesBackwards(handle, size, true)) {
    lineStart = offset;
    break;
  }
  const fragment = Buffer.alloc(size - lineStart);
  await handle.read(fragment, 0, fragment.length, lineStart);
  try {
    parseAuditLine(fragment.toString('utf8'), 'tail');
    await writeAll(handle, Buffer.from('\n'));
    await handle.datasync();
    return 0;
  } catch {
    await handle.truncate(lineStart);
    await handle.datasync();
    return fragment.length;
  }
}

/** Lines of the file from the last to the first, with their byte offsets. */
async function* linesBackwards(
  handle: FileHandle,
  size?: number,
  includeUnterminated = false,
): AsyncGenerator<{ line: string; offset: number }> {
  let end = size ?? (await handle.stat()).size;
  // Bytes after the last newline belong to a line we have not seen the end of yet.
  let carry: Buffer = Buffer.alloc(0);
  let skipFirst = !includeUnterminated;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const chunk = Buffer.alloc(end - start);
    await handle.read(chunk, 0, chunk.length, start);
    const buf = Buffer.concat([chunk, carry]);
    let cut = buf.length;
    // A trailing newline ends the last line; it is not a line of its own.
    if (skipFirst && buf[cut - 1] === NEWLINE) cut--;
    skipFirst = false;
    for (let i = cut - 1; i >= 0; i--) {
      if (buf[i] !== NEWLINE) continue;
      if (i + 1 < cut) yield { line: buf.toString('utf8', i + 1, cut), offset: start + i + 1 };
      cut = i;
    }
    carry = buf.subarray(0, cut);
    end = start;
  }
  if (carry.length > 0) yield { line: carry.toString('utf8'), offset: 0 };
}
