// xlsx, the zip layer: the archive's table of contents is checked against the limits before a
// byte is inflated (entry count, declared sizes, compression ratio), and inflated bytes are
// counted again while reading, since a table of contents can lie.
import type { Readable } from 'node:stream';
import type { Entry, ZipFile } from 'yauzl';
import { IngestError } from './errors.ts';
import type { IngestLimits } from './limits.ts';

const MiB = 1024 * 1024;
/** Entries smaller than this are never called bombs, whatever their ratio. */
const RATIO_FLOOR_BYTES = MiB;
/** Workbook and relationship parts are small; a huge one is hostile. */
export const MAX_PART_BYTES = 8 * MiB;

export const malformed = (what: string): IngestError =>
  new IngestError('malformed-xlsx', `${what}; open the file in Excel and save it again as .xlsx, or export CSV`);

export class InflateBudget {
  used = 0;
  constructor(private readonly max: number) {}
  take(bytes: number): void {
    this.used += bytes;
    if (this.used > this.max)
      throw new IngestError(
        'zip-bomb',
        `the workbook inflates past ${this.max} bytes (maxUncompressedBytes); refused as a possible zip bomb`,
      );
  }
}

export /** Inflated bytes of one entry, as they arrive, counted against the budget. */
async function* entryBytes(zip: ZipFile, entry: Entry, budget: InflateBudget): AsyncGenerator<Buffer> {
  let stream: Readable;
  try {
    stream = await zip.openReadStreamPromise(entry);
  } catch {
    throw malformed(`the part ${entry.fileName} cannot be read`);
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      budget.take(chunk.length);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof IngestError) throw err;
    // yauzl: inflate errors, or more/fewer bytes than the table of contents declared.
    throw malformed(`the part ${entry.fileName} is corrupt or truncated`);
  } finally {
    stream.destroy();
  }
}

export function checkDirectory(entries: Entry[], limits: IngestLimits): void {
  let declared = 0;
  for (const entry of entries) {
    declared += entry.uncompressedSize;
    if (entry.isEncrypted()) throw malformed('the workbook is encrypted');
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize > RATIO_FLOOR_BYTES && ratio > limits.maxCompressionRatio)
      throw new IngestError(
        'zip-bomb',
        `the part ${entry.fileName} inflates ${Math.round(ratio)}-fold (maxCompressionRatio ${limits.maxCompressionRatio}); refused as a possible zip bomb`,
      );
  }
  if (declared > limits.maxUncompressedBytes)
    throw new IngestError(
      'zip-bomb',
      `the workbook declares ${declared} uncompressed bytes; the limit is ${limits.maxUncompressedBytes} (maxUncompressedBytes)`,
    );
}
