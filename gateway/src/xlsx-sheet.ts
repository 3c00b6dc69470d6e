// xlsx, the sheet layer: one worksheet parsed as a SAX stream row by row. Formulas are reported
// as such and never evaluated; their cached values are not used either.
import type { SaxesParser, SaxesTagPlain } from 'saxes';
import { IngestError } from './errors.ts';
import type { IngestLimits } from './limits.ts';
import type { Cell, SheetRow } from './rows.ts';
import { localName, parseXml } from './xlsx-xml.ts';
import { malformed } from './xlsx-zip.ts';

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

export function sheetRows(
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
