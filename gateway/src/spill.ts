// An xlsx is a zip whose table of contents sits at its end, and Excel writes the shared
// strings (the names) after the sheet that refers to them: reading one in a single forward
// pass means holding the sheet somewhere. We hold the upload on disk, but only as AES-256-CTR
// ciphertext under a key that lives in this process's memory alone, in a file unlinked the
// moment it is opened: no plaintext ever touches the disk, and nothing survives a crash.
// CTR (not GCM) because the zip reader needs random access; the file never leaves this process.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, open, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yauzl, { type RandomAccessReader } from 'yauzl';

const CIPHER = 'aes-256-ctr';
const BLOCK = 16;
const READ_BYTES = 64 * 1024;

/** The CTR counter block for byte `offset`: the initial block plus offset / 16, big-endian. */
function counterAt(iv: Buffer, offset: number): Buffer {
  const counter = Buffer.from(iv);
  let carry = BigInt(Math.floor(offset / BLOCK));
  for (let i = BLOCK - 1; i >= 0 && carry > 0n; i--) {
    const sum = BigInt(counter[i] as number) + (carry & 0xffn);
    counter[i] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return counter;
}

export class EncryptedSpill {
  private constructor(
    private readonly file: FileHandle,
    private readonly key: Buffer,
    private readonly iv: Buffer,
    readonly size: number,
  ) {}

  /** Encrypts `source` into an anonymous temp file (created in `dir`, unlinked at once). */
  static async write(source: AsyncIterable<Buffer>, dir = tmpdir()): Promise<EncryptedSpill> {
    const folder = await mkdtemp(join(dir, 'anshim-gateway-'));
    const path = join(folder, 'upload.enc');
    const file = await open(path, 'w+', 0o600);
    await unlink(path);
    await rmdir(folder);
    const key = randomBytes(32);
    const iv = randomBytes(BLOCK);
    try {
      const cipher = createCipheriv(CIPHER, key, iv);
      let size = 0;
      for await (const chunk of source) {
        const sealed = cipher.update(chunk);
        await file.write(sealed, 0, sealed.length, size);
        size += chunk.length;
      }
      return new EncryptedSpill(file, key, iv, size);
    } catch (err) {
      key.fill(0);
      await file.close();
      throw err;
    }
  }

  /** Plaintext bytes [start, end) as a stream, read by position and decrypted on the fly. */
  readRange(start: number, end: number): Readable {
    const blockStart = start - (start % BLOCK);
    const decipher = createDecipheriv(CIPHER, this.key, counterAt(this.iv, blockStart));
    const file = this.file;
    let skip = start - blockStart;
    let position = blockStart;
    return new Readable({
      read() {
        const want = Math.min(READ_BYTES, end - position);
        if (want <= 0) {
          this.push(null);
          return;
        }
        file.read(Buffer.allocUnsafe(want), 0, want, position).then(
          ({ bytesRead, buffer }) => {
            if (bytesRead === 0) return this.destroy(new Error('spill file shorter than expected'));
            position += bytesRead;
            let plain = decipher.update(buffer.subarray(0, bytesRead));
            if (skip) {
              const dropped = Math.min(skip, plain.length);
              plain = plain.subarray(dropped);
              skip -= dropped;
            }
            this.push(plain);
          },
          (err: Error) => this.destroy(err),
        );
      },
    });
  }

  /** A yauzl reader over the plaintext. */
  zipReader(): RandomAccessReader {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const spill = this;
    class SpillReader extends yauzl.RandomAccessReader {
      override _readStreamForRange(start: number, end: number): Readable {
        return spill.readRange(start, end);
      }
    }
    return new SpillReader();
  }

  async dispose(): Promise<void> {
    this.key.fill(0);
    await this.file.close();
  }
}
