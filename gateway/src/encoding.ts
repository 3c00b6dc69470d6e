// CSV from Korean offices arrives as UTF-8 (with or without a BOM) or as CP949, Excel's
// "CSV" on a Korean Windows. ASCII reads the same in both, so bytes pass straight through
// until the first non-ASCII byte; the bytes from there decide, and the rest of the stream
// is decoded that way. Output is UTF-8.
import { Transform, type TransformCallback } from 'node:stream';
import { TextDecoder } from 'node:util';
import iconv from 'iconv-lite';
import { IngestError } from './errors.ts';

export type TextEncoding = 'utf-8' | 'cp949';

/** Non-ASCII bytes looked at before deciding (fewer only at the end of the input). */
const SAMPLE_BYTES = 64;

/** True if `sample` is valid UTF-8, an incomplete sequence at its very end allowed. */
export function looksLikeUtf8(sample: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}

const firstNonAscii = (bytes: Buffer): number => bytes.findIndex((b) => b >= 0x80);

const unsupported = (what: string): IngestError =>
  new IngestError('unsupported-encoding', `${what}; save the CSV as UTF-8 or CP949 (EUC-KR)`);

export class KoreanTextDecoder extends Transform {
  /** Decided encoding, once a non-ASCII byte has been seen (stays undefined for pure ASCII). */
  encoding: TextEncoding | undefined;
  private started = false;
  private held: Buffer | undefined;
  private utf8: TextDecoder | undefined;
  private cp949: ReturnType<typeof iconv.getDecoder> | undefined;
  private offset = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.accept(chunk, false);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.accept(Buffer.alloc(0), true);
      if (this.utf8) this.push(Buffer.from(this.utf8.decode()));
      if (this.cp949) this.push(Buffer.from(this.cp949.end() ?? ''));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private accept(chunk: Buffer, last: boolean): void {
    let bytes = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = undefined;
    if (!this.started) {
      if (bytes.length < 3 && !last) {
        this.held = bytes;
        return;
      }
      this.started = true;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
        this.encoding = 'utf-8';
        bytes = bytes.subarray(3);
      } else if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
        throw unsupported('the file is UTF-16 ("Unicode text")');
      }
    }
    if (this.encoding === undefined) {
      const at = firstNonAscii(bytes);
      if (at < 0) {
        this.forward(bytes);
        return;
      }
      if (bytes.length - at < SAMPLE_BYTES && !last) {
        this.forward(bytes.subarray(0, at));
        this.held = Buffer.from(bytes.subarray(at));
        return;
      }
      this.forward(bytes.subarray(0, at));
      this.encoding = looksLikeUtf8(bytes.subarray(at, at + SAMPLE_BYTES * 4)) ? 'utf-8' : 'cp949';
      bytes = bytes.subarray(at);
    }
    this.decode(bytes);
  }

  private forward(ascii: Buffer): void {
    this.offset += ascii.length;
    if (ascii.length) this.push(ascii);
  }

  private decode(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.encoding === 'utf-8') {
      this.utf8 ??= new TextDecoder('utf-8', { fatal: true });
      try {
        this.push(Buffer.from(this.utf8.decode(bytes, { stream: true })));
      } catch {
        throw unsupported(`bytes after offset ${this.offset} are not UTF-8 though the file began as UTF-8`);
      }
    } else {
      this.cp949 ??= iconv.getDecoder('cp949');
      this.push(Buffer.from(this.cp949.write(bytes)));
    }
    this.offset += bytes.length;
  }
}
