// CSV → rows, streaming: bytes are counted (limit), decoded (UTF-8 or CP949) and parsed
// record by record; nothing is buffered beyond the current record.
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { KoreanTextDecoder } from './encoding.ts';
import { IngestError } from './errors.ts';
import type { IngestLimits } from './limits.ts';
import type { Cell, SheetRow } from './rows.ts';

function csvError(err: CsvError, row: number, limits: IngestLimits): IngestError {
  // csv-parse messages quote the offending input; keep only its code and our row number.
  if (err.code === 'CSV_MAX_RECORD_SIZE')
    return new IngestError('row-too-large', `row ${row} is longer than ${limits.maxRowChars} characters (maxRowChars)`);
  if (err.code === 'CSV_QUOTE_NOT_CLOSED')
    return new IngestError('malformed-csv', `a quoted cell opened near row ${row} never closes (truncated file?)`);
  return new IngestError('malformed-csv', `the CSV is malformed near row ${row} (${err.code})`);
}

/** Cells whose text starts with '=' are formulas to a spreadsheet program: refused, never evaluated. */
const toCell = (value: string, maxCellChars: number): Cell => {
  if (value.length > maxCellChars) return { value: '', kind: 'oversize' };
  return { value, kind: value.trimStart().startsWith('=') ? 'formula' : 'text' };
};

/** What the reader found out about the file, filled in as it reads. */
export interface CsvMeta {
  encoding?: 'utf-8' | 'cp949' | 'ascii';
}

export async function* csvRows(
  source: Readable | AsyncIterable<Buffer>,
  limits: IngestLimits,
  meta: CsvMeta = {},
): AsyncGenerator<SheetRow> {
  const decoder = new KoreanTextDecoder();
  const parser = parse({
    relax_column_count: true,
    relax_quotes: false,
    max_record_size: limits.maxRowChars,
    skip_empty_lines: false,
  });
  let failure: unknown;
  pipeline(source, decoder, parser, (err) => {
    if (err) failure = err;
  });
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row++;
      meta.encoding = decoder.encoding ?? 'ascii';
      yield { row, cells: record.slice(0, limits.maxColumns).map((v) => toCell(v, limits.maxCellChars)) };
    }
  } catch (err) {
    const cause = failure ?? err;
    throw cause instanceof CsvError ? csvError(cause, row + 1, limits) : cause;
  }
  if (failure) throw failure instanceof CsvError ? csvError(failure, row + 1, limits) : failure;
  meta.encoding = decoder.encoding ?? 'ascii';
}
