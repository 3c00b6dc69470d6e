#!/usr/bin/env -S node --import tsx
// anshim-gateway: upload a recipient spreadsheet to the gateway (streamed, with a progress
// bar) and print its answer; send one transactional message. Recipient data never goes on
// the command line (shell history, process list): files and stdin only.
import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar, Presets } from 'cli-progress';
import { Command, Option } from 'commander';
import { PURPOSES } from '@anshim/api';
import type { UploadResult } from './ingest.ts';

const DEFAULT_SERVER = process.env.ANSHIM_GATEWAY_URL ?? 'http://127.0.0.1:8080';
const TOKEN_HELP =
  'a file holding your ServiceAccount token (env ANSHIM_TOKEN_FILE or ANSHIM_TOKEN; in a pod, its own token)';

const MEDIA_TYPES: Record<string, string> = {
  '.csv': 'text/csv',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function readAnswer(res: IncomingMessage): Promise<Answer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.statusCode ?? 0, body: { error: { code: 'not-json', message: text.slice(0, 200) } } };
  }
}

const POD_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The bearer token: from --token-file, ANSHIM_TOKEN_FILE, ANSHIM_TOKEN, or the pod's own
 * ServiceAccount token, in that order. Never an argument: the process list shows arguments.
 */
function bearer(tokenFile: string | undefined): Record<string, string> {
  const file = tokenFile ?? process.env.ANSHIM_TOKEN_FILE ?? (existsSync(POD_TOKEN) ? POD_TOKEN : undefined);
  const token = file ? readFileSync(file, 'utf8').trim() : process.env.ANSHIM_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

function post(url: URL, headers: Record<string, string | number>, tokenFile?: string): ReturnType<typeof httpRequest> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return send(url, { method: 'POST', headers: { ...headers, ...bearer(tokenFile) } });
}

class Progress extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.onBytes(chunk.length);
    done(null, chunk);
  }
}

const n = (x: unknown): string => (typeof x === 'number' ? x.toLocaleString('en-US') : String(x ?? 0));

function printUpload(result: UploadResult): void {
  const { counts } = result;
  const where = result.format === 'xlsx' ? `xlsx, sheet "${result.sheet}"` : `csv (${result.encoding})`;
  console.log(`campaign ${result.campaignId} · ${where} · header row ${result.headerRow} · ${n(counts.rows)} rows`);
  console.log(
    `accepted ${n(counts.accepted)} · duplicates ${n(counts.duplicates)} · rejected ${n(counts.rejected)} · ` +
      `produced ${n(result.produced)} to ${result.topic}`,
  );
  if (counts.consentOlderThanTwoYears || counts.consentUndated)
    console.log(
      `consent to re-confirm: ${n(counts.consentOlderThanTwoYears)} older than two years, ${n(counts.consentUndated)} undated`,
    );
  const reasons = Object.entries(counts.rejectedByReason).map(([r, c]) => `${r} ${n(c)}`);
  if (reasons.length) console.log(`rejected by reason: ${reasons.join(', ')}`);
  for (const r of result.rejections)
    console.log(
      `  row ${r.row}: ${r.reason}${r.column ? ` [${r.column}]` : ''} ${r.phone ?? ''} ${r.name ?? ''}`.trimEnd(),
    );
  if (result.rejectionsTruncated) console.log(`  … ${n(counts.rejected - result.rejections.length)} more not listed`);
}

function printError(answer: Answer): void {
  const error = answer.body.error as { code?: string; message?: string } | undefined;
  console.error(`refused (${answer.status} ${error?.code ?? 'error'}): ${error?.message ?? ''}`);
  const progress = answer.body.progress as
    { produced?: number; notProduced?: number; lastRowRead?: number } | undefined;
  if (progress)
    console.error(
      `before that: ${n(progress.produced)} records produced (through row ${n(progress.lastRowRead)}), ` +
        `${n(progress.notProduced)} accepted but not produced. Fix the file and upload it again: ` +
        'record ids are stable, so nothing is sent twice.',
    );
}

async function upload(
  file: string,
  opts: {
    campaign: string;
    purpose: string;
    sheet?: string;
    server: string;
    json?: boolean;
    progress: boolean;
    tokenFile?: string;
  },
): Promise<number> {
  const size = statSync(file).size;
  const type = MEDIA_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const url = new URL(`/v1/campaigns/${encodeURIComponent(opts.campaign)}/uploads`, opts.server);
  url.searchParams.set('purpose', opts.purpose);
  if (opts.sheet) url.searchParams.set('sheet', opts.sheet);
  const bar =
    opts.progress && process.stderr.isTTY
      ? new SingleBar({ format: 'upload |{bar}| {percentage}% {value}/{total} bytes' }, Presets.shades_classic)
      : undefined;
  bar?.start(size, 0);
  let sent = 0;
  const req = post(url, { 'content-type': type, 'content-length': size }, opts.tokenFile);
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  // The gateway may answer (and close) before the whole file is sent, e.g. over the size limit.
  const sending = pipeline(createReadStream(file), new Progress((b) => bar?.update((sent += b))), req).catch(
    () => undefined,
  );
  const answer = await readAnswer(await answered);
  await sending;
  bar?.stop();
  if (opts.json) console.log(JSON.stringify(answer.body, null, 2));
  if (answer.status !== 200) {
    if (!opts.json) printError(answer);
    return 1;
  }
  if (!opts.json) printUpload(answer.body as unknown as UploadResult);
  return 0;
}

async function send(opts: {
  campaign: string;
  purpose: string;
  requestId?: string;
  file?: string;
  server: string;
  tokenFile?: string;
}): Promise<number> {
  const recipient = JSON.parse(readFileSync(opts.file ?? 0, 'utf8')) as unknown;
  const body = JSON.stringify({
    purpose: opts.purpose,
    recipient,
    ...(opts.requestId ? { requestId: opts.requestId } : {}),
  });
  const url = new URL(`/v1/campaigns/${encodeURIComponent(opts.campaign)}/messages`, opts.server);
  const req = post(
    url,
    { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    opts.tokenFile,
  );
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  req.end(body);
  const answer = await readAnswer(await answered);
  if (answer.status !== 202) {
    printError(answer);
    return 1;
  }
  console.log(JSON.stringify(answer.body));
  return 0;
}

export function program(): Command {
  const cli = new Command('anshim-gateway').description('Upload recipients to the Anshim gateway, sealed at the door.');
  const purpose = (): Option =>
    new Option('--purpose <purpose>', 'what the data was collected for (purpose binding)')
      .choices(PURPOSES)
      .makeOptionMandatory();
  cli
    .command('upload')
    .description('stream a recipient spreadsheet (.xlsx or .csv, UTF-8 or CP949) into a campaign')
    .argument('<file>', 'the spreadsheet')
    .requiredOption('--campaign <id>', 'campaign id, <namespace>.<name>')
    .addOption(purpose())
    .option('--sheet <name>', 'xlsx: the sheet to read (default: the first visible one)')
    .option('--server <url>', 'gateway URL (env ANSHIM_GATEWAY_URL)', DEFAULT_SERVER)
    .option('--token-file <path>', TOKEN_HELP)
    .option('--json', 'print the gateway answer as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, opts) => {
      process.exitCode = await upload(file, opts);
    });
  cli
    .command('send')
    .description(
      'send one transactional message; the recipient JSON ({"phone", "name", "vars", "consent"}) is read from --file or stdin',
    )
    .requiredOption('--campaign <id>', 'campaign id, <namespace>.<name>')
    .addOption(purpose())
    .option('--request-id <id>', 'your id for this request: a retry with the same id is not sent twice')
    .option('--file <path>', 'the recipient JSON (default: stdin)')
    .option('--server <url>', 'gateway URL (env ANSHIM_GATEWAY_URL)', DEFAULT_SERVER)
    .option('--token-file <path>', TOKEN_HELP)
    .action(async (opts) => {
      process.exitCode = await send(opts);
    });
  return cli;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  program()
    .parseAsync()
    .catch((err: unknown) => {
      // JSON.parse quotes the text it fails on, and that text is a recipient: say what failed, not where.
      const message =
        err instanceof SyntaxError
          ? 'the recipient is not valid JSON'
          : err instanceof Error
            ? err.message
            : String(err);
      console.error(`anshim-gateway: ${message}`);
      process.exitCode = 2;
    });
}
