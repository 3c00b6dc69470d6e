// xlsx, the workbook layer: which sheets there are (workbook.xml and its relationships),
// which one to read, and the shared strings table its cells point into.
import { posix } from 'node:path';
import type { SaxesParser, SaxesTagPlain } from 'saxes';
import type { Entry, ZipFile } from 'yauzl';
import { IngestError } from './errors.ts';
import { localName, parseXml, readSmallPart } from './xlsx-xml.ts';
import { entryBytes, malformed, type InflateBudget } from './xlsx-zip.ts';

export interface SheetRef {
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

export async function readSheetList(
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
export async function readSharedStrings(
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

export function chooseSheet(sheets: SheetRef[], wanted: string | undefined): SheetRef {
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
