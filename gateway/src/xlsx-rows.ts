// xlsx → rows. The upload is held only as ciphertext (spill.ts); the zip's table of contents
// is checked against the limits before a byte is inflated (entry count, declared sizes,
// compression ratio), inflated bytes are counted again while reading, shared strings are
// read into memory, and the chosen sheet is parsed as a SAX stream row by row. Formulas are
// reported as such and never evaluated; their cached values are not used either.
import { posix } from 'node:path';
import { TextDecoder } from 'node:util';
import type { Readable } from 'node:stream';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { IngestError } from './errors.ts';
import type { IngestLimits } from './limits.ts';
import type { Cell, SheetRow } from './rows.ts';
import { EncryptedSpill } from './spill.ts';

const MiB = 1024 * 1024;
/** Entries smaller than this are never called bombs, whatever their ratio. */
const RATIO_FLOOR_BYTES = MiB;
/** Workbook and relationship parts are small; a huge one is hostile. */
const MAX_PART_BYTES = 8 * MiB;

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

const malformed = (what: string): IngestError =>
  new IngestError('malformed-xlsx', `${what}; open the file in Excel and save it again as .xlsx, or export CSV`);

class InflateBudget {
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

/** Inflated bytes of one entry, as they arrive, counted against the budget. */
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

/** Feeds an entry through a SAX parser; `onChunk` runs after each piece so a caller can drain what it built. */
async function* parseXml<T>(
  bytes: AsyncIterable<Buffer>,
  what: string,
  wire: (parser: SaxesParser) => void,
  drain: () => T[],
): AsyncGenerator<T> {
  const parser = new SaxesParser();
  wire(parser);
  const text = new TextDecoder('utf-8');
  const fail = (): never => {
    // saxes' own message may quote the document; keep its position only.
    throw malformed(`${what} is not well-formed XML (line ${parser.line})`);
  };
  for await (const chunk of bytes) {
    try {
      parser.write(text.decode(chunk, { stream: true }));
    } catch (err) {
      if (err instanceof IngestError) throw err;
      fail();
    }
    yield* drain();
  }
  try {
    parser.write(text.decode());
    parser.close();
  } catch (err) {
    if (err instanceof IngestError) throw err;
    fail();
  }
  yield* drain();
}

async function readSmallPart(
  zip: ZipFile,
  entry: Entry,
  budget: InflateBudget,
  wire: (parser: SaxesParser) => void,
): Promise<void> {
  if (entry.uncompressedSize > MAX_PART_BYTES) throw malformed(`the part ${entry.fileName} is implausibly large`);
  for await (const _ of parseXml(entryBytes(zip, entry, budget), entry.fileName, wire, () => [])) void _;
}

const localName = (tag: { name: string }): string => tag.name.slice(tag.name.indexOf(':') + 1);

interface SheetRef {
  name: string;
  path: string;
  hidden: boolean;
}

interface Relationship {
  target: string;
  type: string;
}

async function readRelationships(
  zip: ZipFile,
  entries: Map<string, Entry>,
  partPath: string,
  budget: InflateBudget,
): Promise<Map<string, Relationship>> {
  const relsPath = posix.join(posix.dirname(partPath), '_rels', `${posix.basename(partPath)}.rels`);
  const rels = new Map<string, Relationship>();
  const entry = entries.get(relsPath);
  if (!entry) return rels;
  await readSmallPart(zip, entry, budget, (p) =>
    p.on('opentag', (tag: SaxesTagPlain) => {
      if (localName(tag) !== 'Relationship') return;
      const { Id, Target, Type, TargetMode } = tag.attributes as Record<string, string | undefined>;
      if (!Id || !Target || TargetMode === 'External') return;
      const target = Target.startsWith('/')
        ? Target.slice(1)
        : posix.normalize(posix.join(posix.dirname(partPath), Target));
      rels.set(Id, { target, type: Type ?? '' });
    }),
  );
  return rels;
}

async function readSheetList(
  zip: ZipFile,
  entries: Map<string, Entry>,
  budget: InflateBudget,
): Promise<{ sheets: SheetRef[]; sharedStringsPath: string | undefined }> {
  const rootRels = await readRelationships(zip, entries, '', budget);
  const officeDocument = [...rootRels.values()].find((r) => r.type.endsWith('/officeDocument'));
  const workbookPath = officeDocument?.target ?? 'xl/workbook.xml';
  const workbook = entries.get(workbookPath);
  if (!workbook) throw malformed('the file has no workbook part (is it an xlsx?)');
  const rels = await readRelationships(zip, entries, workbookPath, budget);
  const refs: Array<{ name: string; rid: string; hidden: boolean }> = [];
  await readSmallPart(zip, workbook, budget, (p) =>
    p.on('opentag', (tag: SaxesTagPlain) => {
      if (localName(tag) !== 'sheet') return;
      const attrs = tag.attributes as Record<string, string | undefined>;
      const rid = Object.entries(attrs).find(([k]) => k === 'r:id' || k.endsWith(':id'))?.[1];
      if (attrs.name && rid) refs.push({ name: attrs.name, rid, hidden: (attrs.state ?? 'visible') !== 'visible' });
    }),
  );
  const sheets = refs.flatMap((ref) => {
    const rel = rels.get(ref.rid);
    return rel && rel.type.endsWith('/worksheet') ? [{ name: ref.name, path: rel.target, hidden: ref.hidden }] : [];
  });
  const shared = [...rels.values()].find((r) => r.type.endsWith('/sharedStrings'))?.target;
  return {
    sheets,
    sharedStringsPath: shared ?? (entries.has('xl/sharedStrings.xml') ? 'xl/sharedStrings.xml' : undefined),
  };
}

/** Shared strings in order; a string longer than maxCellChars is kept as null (its cells are refused). */
async function readSharedStrings(
  zip: ZipFile,
  entry: Entry,
  budget: InflateBudget,
  maxCellChars: number,
): Promise<Array<string | null>> {
  const strings: Array<string | null> = [];
  let current = '';
  let inT = false;
  let phonetic = 0;
  let oversize = false;
  const wire = (p: SaxesParser): void => {
    p.on('opentag', (tag: SaxesTagPlain) => {
      const name = localName(tag);
      if (name === 'si') {
        current = '';
        oversize = false;
      } else if (name === 'rPh') phonetic++;
      else if (name === 't' && !tag.isSelfClosing) inT = true;
    });
    p.on('closetag', (tag: SaxesTagPlain) => {
      const name = localName(tag);
      if (name === 'si') strings.push(oversize ? null : current);
      else if (name === 'rPh') phonetic--;
      else if (name === 't') inT = false;
    });
    const text = (t: string): void => {
      // Phonetic runs (rPh) are reading aids, not part of the cell's text.
      if (!inT || phonetic > 0 || oversize) return;
      current += t;
      if (current.length > maxCellChars) {
        oversize = true;
        current = '';
      }
    };
    p.on('text', text);
    p.on('cdata', text);
  };
  for await (const _ of parseXml(entryBytes(zip, entry, budget), entry.fileName, wire, () => [])) void _;
  return strings;
}

/** 'AB12' → 27 (0-based column), or undefined when there is no column part. */
export function columnIndex(ref: string): number | undefined {
  let col = 0;
  let i = 0;
  for (; i < ref.length; i++) {
    const code = ref.charCodeAt(i);
    const upper = code >= 97 && code <= 122 ? code - 32 : code;
    if (upper < 65 || upper > 90) break;
    col = col * 26 + (upper - 64);
  }
  return i === 0 ? undefined : col - 1;
}

/** The sheet's declared extent (<dimension ref="A1:E1001">): its last row, if declared. */
function lastRowOf(dimension: string): number | undefined {
  const last = dimension.split(':').pop() ?? '';
  const digits = /(\d+)$/.exec(last)?.[1];
  return digits === undefined ? undefined : Number(digits);
}

function sheetRows(
  bytes: AsyncIterable<Buffer>,
  what: string,
  shared: ReadonlyArray<string | null>,
  limits: IngestLimits,
): AsyncGenerator<SheetRow> {
  let ready: SheetRow[] = [];
  let row: SheetRow | undefined;
  let nextRow = 1;
  let col = 0;
  let type = 'n';
  let value = '';
  let formula = false;
  let oversize = false;
  let inValue = false;
  let inInline = false;
  let phonetic = 0;
  const wire = (p: SaxesParser): void => {
    p.on('opentag', (tag: SaxesTagPlain) => {
      const attrs = tag.attributes as Record<string, string | undefined>;
      switch (localName(tag)) {
        case 'dimension': {
          const last = attrs.ref ? lastRowOf(attrs.ref) : undefined;
          if (last !== undefined && last - 1 > limits.maxRows)
            throw new IngestError(
              'too-many-rows',
              `the sheet declares ${last} rows; the limit is ${limits.maxRows} (maxRows)`,
            );
          break;
        }
        case 'row': {
          const r = attrs.r ? Number(attrs.r) : nextRow;
          if (!Number.isSafeInteger(r) || r < 1) throw malformed(`a row of ${what} has an invalid number`);
          row = { row: r, cells: [] };
          nextRow = r + 1;
          col = 0;
          break;
        }
        case 'c':
          col = (attrs.r ? columnIndex(attrs.r) : undefined) ?? col;
          type = attrs.t ?? 'n';
          value = '';
          formula = oversize = inValue = inInline = false;
          break;
        case 'f':
          formula = true;
          break;
        case 'v':
          inValue = !tag.isSelfClosing;
          break;
        case 'is':
          inInline = true;
          break;
        case 'rPh':
          phonetic++;
          break;
        case 't':
          break;
      }
    });
    p.on('closetag', (tag: SaxesTagPlain) => {
      switch (localName(tag)) {
        case 'v':
          inValue = false;
          break;
        case 'is':
          inInline = false;
          break;
        case 'rPh':
          phonetic--;
          break;
        case 'c':
          if (row && col < limits.maxColumns) row.cells[col] = toCell();
          col++;
          break;
        case 'row':
          if (row) ready.push(row);
          row = undefined;
          break;
      }
    });
    const text = (t: string): void => {
      if (!(inValue || (inInline && phonetic === 0)) || oversize) return;
      value += t;
      if (value.length > limits.maxCellChars) {
        oversize = true;
        value = '';
      }
    };
    p.on('text', text);
    p.on('cdata', text);
  };
  const toCell = (): Cell | undefined => {
    if (formula) return { value: '', kind: 'formula' };
    if (oversize) return { value: '', kind: 'oversize' };
    switch (type) {
      case 's': {
        if (value === '') return undefined;
        const s = shared[Number(value)];
        if (s === undefined) return { value: '', kind: 'error' };
        return s === null ? { value: '', kind: 'oversize' } : { value: s, kind: 'text' };
      }
      case 'inlineStr':
      case 'str':
        return { value, kind: 'text' };
      case 'b':
        return { value: value === '1' ? 'TRUE' : 'FALSE', kind: 'bool' };
      case 'e':
        return { value: '', kind: 'error' };
      case 'd':
        return { value, kind: 'text' };
      default:
        return value === '' ? undefined : { value, kind: 'number' };
    }
  };
  return parseXml(bytes, what, wire, () => {
    const out = ready;
    ready = [];
    return out;
  });
}

function checkDirectory(entries: Entry[], limits: IngestLimits): void {
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

function chooseSheet(sheets: SheetRef[], wanted: string | undefined): SheetRef {
  const names = sheets.map((s) => s.name);
  if (wanted === undefined) {
    const first = sheets.find((s) => !s.hidden) ?? sheets[0];
    if (!first) throw malformed('the workbook has no worksheet');
    return first;
  }
  const norm = (s: string) => s.normalize('NFC').trim().toLowerCase();
  const found = sheets.find((s) => s.name === wanted) ?? sheets.find((s) => norm(s.name) === norm(wanted));
  if (!found)
    throw new IngestError(
      'sheet-not-found',
      `the workbook has no sheet named "${wanted}"; its sheets are: ${names.map((n) => `"${n}"`).join(', ')}`,
    );
  return found;
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
