// Test support: spreadsheets built in memory (xlsx written part by part, the way Excel lays
// them out, shared strings after the sheet), a capturing producer, and key stores.
import { randomBytes } from 'node:crypto';
import { createLogger, LocalKekProvider, MemoryKeyStore, type Logger } from '@anshim/core';
import iconv from 'iconv-lite';
import type { Message, ProducerRecord, RecordMetadata } from 'kafkajs';
import yazl from 'yazl';
import type { RecordProducer } from './producer.ts';
import type { AccessControl, AccessRequest, Caller } from './access.ts';

export type FixtureCell = string | number | boolean | null | { formula: string; cached?: string } | { inline: string };

export interface FixtureSheet {
  name: string;
  rows: FixtureCell[][];
  hidden?: boolean;
}

export interface XlsxFixtureOptions {
  /** Strings as shared strings (Excel's way, default) or inline strings. */
  sharedStrings?: boolean;
  /** Declared <dimension ref>, e.g. 'A1:C2000001'. */
  dimension?: string;
  /** Extra parts, e.g. a large padding entry. */
  extraParts?: Array<{ name: string; data: Buffer }>;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const columnName = (index: number): string => {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
};

export async function buildXlsx(sheets: FixtureSheet[], options: XlsxFixtureOptions = {}): Promise<Buffer> {
  const shared: string[] = [];
  const sharedIndex = new Map<string, number>();
  const useShared = options.sharedStrings ?? true;
  const stringCell = (ref: string, s: string): string => {
    if (!useShared) return `<c r="${ref}" t="inlineStr"><is><t>${esc(s)}</t></is></c>`;
    let i = sharedIndex.get(s);
    if (i === undefined) {
      i = shared.push(s) - 1;
      sharedIndex.set(s, i);
    }
    return `<c r="${ref}" t="s"><v>${i}</v></c>`;
  };
  const sheetXml = (sheet: FixtureSheet): string => {
    const rows = sheet.rows.map((cells, r) => {
      const xml = cells.map((cell, c) => {
        const ref = `${columnName(c)}${r + 1}`;
        if (cell === null) return '';
        if (typeof cell === 'string') return stringCell(ref, cell);
        if (typeof cell === 'number') return `<c r="${ref}"><v>${cell}</v></c>`;
        if (typeof cell === 'boolean') return `<c r="${ref}" t="b"><v>${cell ? 1 : 0}</v></c>`;
        if ('inline' in cell) return `<c r="${ref}" t="inlineStr"><is><t>${esc(cell.inline)}</t></is></c>`;
        return `<c r="${ref}" t="str"><f>${esc(cell.formula)}</f><v>${esc(cell.cached ?? '')}</v></c>`;
      });
      return `<row r="${r + 1}">${xml.join('')}</row>`;
    });
    const dimension = options.dimension ? `<dimension ref="${options.dimension}"/>` : '';
    return (
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
      `${dimension}<sheetData>${rows.join('')}</sheetData></worksheet>`
    );
  };
  const ns = 'http://schemas.openxmlformats.org';
  const parts: Array<[string, string | Buffer]> = [
    [
      '[Content_Types].xml',
      `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="${ns}/package/2006/content-types">` +
        `<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
        `<Default Extension="xml" ContentType="application/xml"/></Types>`,
    ],
    [
      '_rels/.rels',
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">` +
        `<Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
        `</Relationships>`,
    ],
    [
      'xl/workbook.xml',
      `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${ns}/spreadsheetml/2006/main" xmlns:r="${ns}/officeDocument/2006/relationships"><sheets>` +
        sheets
          .map(
            (s, i) =>
              `<sheet name="${esc(s.name)}" sheetId="${i + 1}"${s.hidden ? ' state="hidden"' : ''} r:id="rId${i + 1}"/>`,
          )
          .join('') +
        '</sheets></workbook>',
    ],
    [
      'xl/_rels/workbook.xml.rels',
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">` +
        sheets
          .map(
            (_s, i) =>
              `<Relationship Id="rId${i + 1}" Type="${ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
          )
          .join('') +
        `<Relationship Id="rIdS" Type="${ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
        '</Relationships>',
    ],
    ...sheets.map((s, i): [string, string] => [`xl/worksheets/sheet${i + 1}.xml`, sheetXml(s)]),
  ];
  // After the sheets, as Excel writes them: a one-pass reader would have to hold the sheet.
  parts.push([
    'xl/sharedStrings.xml',
    `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="${ns}/spreadsheetml/2006/main" count="${shared.length}" uniqueCount="${shared.length}">` +
      shared.map((s) => `<si><t xml:space="preserve">${esc(s)}</t></si>`).join('') +
      '</sst>',
  ]);
  for (const extra of options.extraParts ?? []) parts.push([extra.name, extra.data]);

  const zip = new yazl.ZipFile();
  for (const [name, data] of parts) zip.addBuffer(Buffer.isBuffer(data) ? data : Buffer.from(data), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const csvField = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function buildCsv(rows: string[][], encoding: 'utf-8' | 'utf-8-bom' | 'cp949' = 'utf-8'): Buffer {
  const text = rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
  if (encoding === 'cp949') return iconv.encode(text, 'cp949');
  const body = Buffer.from(text, 'utf8');
  return encoding === 'utf-8-bom' ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
}

/** Chunks of `size` bytes, as a network delivers them. */
export async function* chunked(data: Buffer, size = 997): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/** Records what would have gone to Kafka; can be told to fail. */
export class CapturingProducer implements RecordProducer {
  readonly messages: Array<Message & { topic: string }> = [];
  sends = 0;
  failAfter = Infinity;

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.sends++ >= this.failAfter) {
      const err = new Error('broker gone');
      err.name = 'KafkaJSConnectionError';
      throw err;
    }
    for (const m of record.messages) this.messages.push({ ...m, topic: record.topic });
    return [];
  }
}

export function memoryKeys(): MemoryKeyStore {
  return new MemoryKeyStore(new LocalKekProvider('test-kek', randomBytes(32)));
}

export function silentLogger(): Logger {
  return createLogger('gateway-test', { level: 'silent' });
}

/**
 * A stand-in for the API server's TokenReview and SubjectAccessReview, for unit tests only (the
 * integration tests use real ServiceAccount tokens): `tokens` maps a token to its owner, and a
 * caller may do what `grants` lists for its username, as "verb resource[/subresource] [ns/name]",
 * where "*" stands for any name.
 */
export class StaticAccessControl implements AccessControl {
  readonly asked: AccessRequest[] = [];
  /** Every token authenticate() was asked about, as TokenReview would have been. */
  readonly reviewed: string[] = [];
  constructor(
    private readonly tokens: Record<string, Caller>,
    private readonly grants: Record<string, string[]>,
  ) {}

  async authenticate(token: string): Promise<Caller | undefined> {
    this.reviewed.push(token);
    return this.tokens[token];
  }

  async allowed(caller: Caller, r: AccessRequest): Promise<boolean> {
    this.asked.push(r);
    const what = `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
    return (this.grants[caller.username] ?? []).some((g) => {
      const [verb, resource, scope] = g.split(' ');
      if (`${verb} ${resource}` !== what) return false;
      if (!scope) return r.namespace === undefined;
      const [ns, name] = scope.split('/');
      return ns === r.namespace && (name === '*' || name === r.name);
    });
  }
}

export const SENDER_TOKEN = 'sender-token';
export const SENDER = 'system:serviceaccount:shop:sender';

/** A sender who may do everything on every campaign of the namespaces named, and record opt-outs. */
export function senderAccess(namespaces = ['shop', 'bank']): StaticAccessControl {
  return new StaticAccessControl(
    { [SENDER_TOKEN]: { username: SENDER, groups: ['system:serviceaccounts'] } },
    {
      [SENDER]: [
        ...namespaces.flatMap((ns) => [
          `create messagingcampaigns/uploads ${ns}/*`,
          `create messagingcampaigns/messages ${ns}/*`,
        ]),
        'create optouts',
        'delete optouts',
      ],
    },
  );
}
