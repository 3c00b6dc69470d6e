// xlsx → rows. The upload is held only as ciphertext (spill.ts); the zip's table of contents is
// checked before anything is inflated (xlsx-zip.ts), the workbook says which sheet to read and
// holds the shared strings (xlsx-workbook.ts), and the sheet is parsed row by row (xlsx-sheet.ts).
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { IngestError } from './errors.ts';
import type { IngestLimits } from './limits.ts';
import type { SheetRow } from './rows.ts';
import { EncryptedSpill } from './spill.ts';
import { sheetRows } from './xlsx-sheet.ts';
import { chooseSheet, readSharedStrings, readSheetList } from './xlsx-workbook.ts';
import { checkDirectory, entryBytes, InflateBudget, malformed } from './xlsx-zip.ts';

export { columnIndex } from './xlsx-sheet.ts';

export interface XlsxOptions {
  /** Sheet name; the first visible sheet when omitted. */
  sheet?: string;
  /** Where the encrypted spill file is created (and at once unlinked); os.tmpdir() by default. */
  spillDir?: string;
}

/** What the reader found out about the workbook, filled in as it reads. */
export interface XlsxMeta {
  sheet?: string;
  sheets?: string[];
}

const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0]);

async function firstBytes(spill: EncryptedSpill, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of spill.readRange(0, Math.min(n, spill.size))) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function* xlsxRows(
  source: AsyncIterable<Buffer>,
  limits: IngestLimits,
  options: XlsxOptions = {},
  meta: XlsxMeta = {},
): AsyncGenerator<SheetRow> {
  const spill = await EncryptedSpill.write(source, options.spillDir);
  let zip: ZipFile | undefined;
  try {
    if (spill.size === 0) throw new IngestError('empty-upload', 'the upload is empty');
    if ((await firstBytes(spill, 4)).equals(OLE2_MAGIC))
      throw new IngestError(
        'unsupported-format',
        'this is an Excel 97-2003 (.xls) or a password-protected workbook; save it as .xlsx without a password, or export CSV',
      );
    try {
      zip = await yauzl.fromRandomAccessReaderPromise(spill.zipReader(), spill.size, {
        autoClose: false,
        lazyEntries: true,
        validateEntrySizes: true,
      });
    } catch {
      throw malformed('the file is not a complete xlsx (zip) archive: truncated, or not an xlsx');
    }
    if (zip.entryCount > limits.maxZipEntries)
      throw malformed(`the archive has ${zip.entryCount} parts; the limit is ${limits.maxZipEntries} (maxZipEntries)`);
    const list: Entry[] = [];
    try {
      for await (const entry of zip.eachEntry()) list.push(entry);
    } catch {
      throw malformed('the archive directory is corrupt');
    }
    checkDirectory(list, limits);
    const entries = new Map(list.map((e) => [e.fileName, e]));
    const budget = new InflateBudget(limits.maxUncompressedBytes);

    const { sheets, sharedStringsPath } = await readSheetList(zip, entries, budget);
    meta.sheets = sheets.map((s) => s.name);
    const sheet = chooseSheet(sheets, options.sheet);
    meta.sheet = sheet.name;
    const sheetEntry = entries.get(sheet.path);
    if (!sheetEntry) throw malformed(`the sheet "${sheet.name}" is missing from the archive`);
    const sharedEntry = sharedStringsPath === undefined ? undefined : entries.get(sharedStringsPath);
    const shared = sharedEntry ? await readSharedStrings(zip, sharedEntry, budget, limits.maxCellChars) : [];
    yield* sheetRows(entryBytes(zip, sheetEntry, budget), `the sheet "${sheet.name}"`, shared, limits);
  } finally {
    zip?.close();
    await spill.dispose();
  }
}
