// xlsx, the XML layer: a part of the archive fed through a SAX parser (saxes) chunk by chunk,
// so no part is ever held whole; a parse error keeps its line only (saxes quotes the document).
import { TextDecoder } from 'node:util';
import { SaxesParser } from 'saxes';
import type { Entry, ZipFile } from 'yauzl';
import { IngestError } from './errors.ts';
import { entryBytes, malformed, MAX_PART_BYTES, type InflateBudget } from './xlsx-zip.ts';

export /** Feeds an entry through a SAX parser; `onChunk` runs after each piece so a caller can drain what it built. */
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

export async function readSmallPart(
  zip: ZipFile,
  entry: Entry,
  budget: InflateBudget,
  wire: (parser: SaxesParser) => void,
): Promise<void> {
  if (entry.uncompressedSize > MAX_PART_BYTES) throw malformed(`the part ${entry.fileName} is implausibly large`);
  for await (const _ of parseXml(entryBytes(zip, entry, budget), entry.fileName, wire, () => [])) void _;
}

export const localName = (tag: { name: string }): string => tag.name.slice(tag.name.indexOf(':') + 1);
