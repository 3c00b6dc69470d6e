import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getDefaultHighWaterMark } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, recordAad } from '@anshim/core';
import { CampaignRecord, Priority, RecipientPayload } from '@anshim/proto';
import type { CampaignInfo } from './campaigns.ts';
import { StaticCampaignLookup, acceptsMessages } from './campaigns.ts';
import { ingestUpload, sendMessage, UploadFailedError, type AuditEvent, type GatewayDeps } from './ingest.ts';
import type { IngestLimits } from './limits.ts';
import {
  buildCsv,
  buildXlsx,
  CapturingProducer,
  chunked,
  memoryKeys,
  silentLogger,
  type FixtureCell,
} from './test-fixtures.ts';

const ACTOR = 'system:serviceaccount:shop:sender';
const HEADER = ['이름', '휴대폰번호', '광고수신동의', '야간수신동의', '동의일자', '매장'];
const phoneOf = (i: number): string =>
  `010-${String(2000 + Math.floor(i / 10000)).padStart(4, '0')}-${String(i % 10000).padStart(4, '0')}`;
const rowsOf = (n: number, start = 0): string[][] =>
  Array.from({ length: n }, (_, k) => [
    `김민${(start + k) % 10}`,
    phoneOf(start + k),
    'Y',
    'N',
    '2025-01-02',
    '강남점',
  ]);

async function setup(info: Partial<CampaignInfo> = {}, campaignId = 'shop.weekend') {
  const keys = memoryKeys();
  await keys.ensure(campaignId);
  const producer = new CapturingProducer();
  const audits: AuditEvent[] = [];
  const campaign: CampaignInfo = {
    purpose: 'advertising',
    priorityClass: 'bulk',
    phase: 'Sending',
    topic: `anshim.campaign.${campaignId}.bulk`,
    channel: 'TEXT',
    ...info,
  };
  const deps: GatewayDeps = {
    keys,
    campaigns: new StaticCampaignLookup([[campaignId, campaign]]),
    producer,
    logger: silentLogger(),
    audit: (e) => void audits.push(e),
  };
  const upload = (
    data: Buffer,
    opts: { sheet?: string; limits?: Partial<IngestLimits>; purpose?: CampaignInfo['purpose'] } = {},
  ) =>
    ingestUpload(
      deps,
      {
        campaignId,
        actor: ACTOR,
        purpose: opts.purpose ?? campaign.purpose,
        source: chunked(data),
        ...(opts.sheet ? { sheet: opts.sheet } : {}),
      },
      opts.limits,
    );
  return { deps, keys, producer, audits, campaign, campaignId, upload };
}

async function refused(promise: Promise<unknown>, code: string): Promise<UploadFailedError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UploadFailedError, `expected UploadFailedError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('ingestUpload', () => {
  test('seals every accepted row so that only the campaign key opens it, with header and priority', async () => {
    const { upload, producer, keys, campaignId, campaign, audits } = await setup();
    const result = await upload(buildCsv([HEADER, ...rowsOf(3)]));
    assert.equal(result.counts.accepted, 3);
    assert.equal(producer.messages.length, 3);
    const [key] = await keys.open(campaignId);
    assert.ok(key);
    for (const m of producer.messages) {
      assert.equal(m.topic, campaign.topic);
      assert.equal(String(m.headers?.['anshim-campaign']), campaignId);
      assert.ok(!(m.value as Buffer).includes(Buffer.from('01020000000')));
      const record = CampaignRecord.decode(m.value as Buffer);
      assert.equal(record.recordId, m.key);
      assert.equal(record.priority, Priority.BULK);
      const payload = RecipientPayload.decode(
        open(key, record.sealedRecipient, recordAad(campaignId, record.recordId)),
      );
      assert.match(payload.phone, /^0102000000[0-2]$/);
      assert.equal(payload.vars['매장'], '강남점');
    }
    assert.equal(audits.length, 1);
    assert.equal(audits[0]?.actor, ACTOR, 'the audit event names the caller');
    assert.deepEqual(
      { outcome: audits[0]?.outcome, produced: audits[0]?.produced, accepted: audits[0]?.counts?.accepted },
      { outcome: 'completed', produced: 3, accepted: 3 },
    );
    assert.ok(!JSON.stringify(audits).includes('2000'), 'the audit event carries counts only');
  });

  test('duplicates are dropped within an upload; a re-upload yields the same ids; another campaign other ids', async () => {
    const { upload, producer, deps } = await setup();
    const rows = rowsOf(50);
    const withDupes = [
      HEADER,
      ...rows,
      rows[3] as string[],
      [...(rows[7] as string[])].map((c, i) => (i === 1 ? c.replace(/-/g, '') : c)),
    ];
    const first = await upload(buildCsv(withDupes));
    assert.deepEqual([first.counts.accepted, first.counts.duplicates], [50, 2]);
    const firstIds = producer.messages.map((m) => String(m.key));
    assert.equal(new Set(firstIds).size, 50);
    producer.messages.length = 0;
    await upload(await buildXlsx([{ name: 'Sheet1', rows: [HEADER, ...rows.reverse()] }]));
    const secondIds = producer.messages.map((m) => String(m.key));
    assert.deepEqual(new Set(secondIds), new Set(firstIds));
    for (const id of firstIds) assert.match(id, /^r-[A-Za-z0-9_-]{22}$/);

    const other = await setup({}, 'shop.other');
    await other.upload(buildCsv([HEADER, ...rows]));
    const otherIds = new Set(other.producer.messages.map((m) => String(m.key)));
    assert.equal(firstIds.filter((id) => otherIds.has(id)).length, 0);
    assert.ok(deps);
  });

  test('the rejection report lists rows with masked values only, capped, while every rejection is counted', async () => {
    const { upload } = await setup();
    const bad = Array.from({ length: 30 }, (_, i) => [
      `홍길동${i}`,
      `02-555-${String(1000 + i)}`,
      'Y',
      'N',
      '2025-01-01',
      'x',
    ]);
    const result = await upload(
      buildCsv([HEADER, ...rowsOf(2), ...bad, ['이순신', '010-3333-4444', 'N', 'N', '', '']]),
      {
        limits: { maxReportedRejections: 10 },
      },
    );
    assert.equal(result.counts.rejected, 31);
    assert.deepEqual(result.counts.rejectedByReason, { landline: 30, 'no-advertising-consent': 1 });
    assert.equal(result.rejections.length, 10);
    assert.equal(result.rejectionsTruncated, true);
    assert.deepEqual(result.rejections[0], {
      row: 4,
      reason: 'landline',
      column: '휴대폰번호',
      phone: '02-***-1000',
      name: '홍**0',
    });
    const json = JSON.stringify(result);
    assert.ok(!json.includes('555-1000') && !json.includes('홍길동'), 'no plaintext number or name in the answer');
  });

  test('a title above the header row is skipped; xlsx numbers, booleans and date serials are read', async () => {
    const { upload, producer, keys, campaignId } = await setup();
    const rows: FixtureCell[][] = [
      ['2025년 6월 행사 명단'],
      [],
      HEADER,
      ['김철수', 1012345678, true, false, 45293, { inline: '강남점' }],
    ];
    const result = await upload(await buildXlsx([{ name: '명단', rows }]));
    assert.equal(result.headerRow, 3);
    assert.equal(result.counts.accepted, 1);
    const [key] = await keys.open(campaignId);
    const record = CampaignRecord.decode(producer.messages[0]?.value as Buffer);
    const payload = RecipientPayload.decode(open(key!, record.sealedRecipient, recordAad(campaignId, record.recordId)));
    assert.deepEqual(
      { phone: payload.phone, name: payload.name, vars: payload.vars, advertising: payload.consent?.advertising },
      { phone: '01012345678', name: '김철수', vars: { 매장: '강남점' }, advertising: true },
    );
  });

  test('xlsx formula cells refuse their row and are never evaluated; sheets are chosen by name', async () => {
    const { upload } = await setup();
    const sheets = [
      { name: '숨김', hidden: true, rows: [HEADER, ...rowsOf(5)] },
      {
        name: '고객',
        rows: [
          HEADER,
          ...rowsOf(2),
          ['박', { formula: 'CONCAT("010","12345678")', cached: '01012345678' }, 'Y', 'N', '', ''],
        ],
      },
      { name: '기타', rows: [HEADER, ...rowsOf(1)] },
    ];
    const xlsx = await buildXlsx(sheets);
    const first = await upload(xlsx);
    assert.equal(first.sheet, '고객', 'the first visible sheet by default');
    assert.deepEqual([first.counts.accepted, first.counts.rejectedByReason.formula], [2, 1]);
    assert.equal((await upload(xlsx, { sheet: '기타' })).counts.accepted, 1);
    const wrong = await refused(upload(xlsx, { sheet: '없는시트' }), 'sheet-not-found');
    assert.match(wrong.message, /"숨김", "고객", "기타"/);
    assert.equal(wrong.progress.produced, 0);
  });

  test('purpose binding, unknown campaigns, closed campaigns and missing or destroyed keys are refused before reading', async () => {
    const { upload, deps, campaignId, keys, producer } = await setup();
    const csv = buildCsv([HEADER, ...rowsOf(1)]);
    const mismatch = await refused(upload(csv, { purpose: 'informational' }), 'purpose-mismatch');
    assert.match(mismatch.message, /collected for informational use and campaign shop\.weekend is advertising/);
    await refused(
      ingestUpload(deps, { campaignId: 'shop.nope', actor: ACTOR, purpose: 'advertising', source: chunked(csv) }),
      'unknown-campaign',
    );
    const closed = await setup({ phase: 'Completed' });
    await refused(closed.upload(csv), 'campaign-not-accepting');
    const keyless = await setup();
    await keyless.keys.destroy(keyless.campaignId);
    await refused(keyless.upload(csv), 'campaign-key-destroyed');
    const unprovisioned = await setup({}, 'shop.fresh');
    const fresh = { ...unprovisioned.deps, keys: memoryKeys() };
    await refused(
      ingestUpload(fresh, { campaignId: 'shop.fresh', actor: ACTOR, purpose: 'advertising', source: chunked(csv) }),
      'campaign-key-missing',
    );
    assert.equal(producer.messages.length, 0);
    assert.ok(keys && campaignId);
  });

  test('header problems: no phone column, no consent column for advertising, header only, empty file', async () => {
    const { upload } = await setup();
    await refused(
      upload(
        buildCsv([
          ['이름', '주소'],
          ['김철수', '서울'],
        ]),
      ),
      'missing-phone-column',
    );
    await refused(
      upload(
        buildCsv([
          ['이름', '휴대폰'],
          ['김철수', '01012345678'],
        ]),
      ),
      'missing-consent-column',
    );
    await refused(upload(buildCsv([HEADER])), 'empty-upload');
    await refused(upload(Buffer.alloc(0)), 'empty-upload');
    const info = await setup({ purpose: 'informational' });
    assert.equal(
      (
        await info.upload(
          buildCsv([
            ['이름', '휴대폰'],
            ['김철수', '01012345678'],
          ]),
        )
      ).counts.accepted,
      1,
    );
  });

  test('a template variable the sheet has no column for is refused before anything is produced', async () => {
    const { upload, producer } = await setup({ templateVariables: ['매장', '쿠폰코드'] });
    const err = await refused(upload(buildCsv([HEADER, ...rowsOf(20)])), 'missing-template-variable');
    assert.match(err.message, /#\{쿠폰코드\}/);
    assert.doesNotMatch(err.message, /#\{매장\}/, 'the store column is there');
    assert.equal(err.progress.produced, 0);
    assert.equal(producer.messages.length, 0, 'nothing reached Kafka');
    // With the column, the same sheet goes through.
    const ok = await setup({ templateVariables: ['매장'] });
    assert.equal((await ok.upload(buildCsv([HEADER, ...rowsOf(20)]))).counts.accepted, 20);
  });

  test('limits: bytes counted while streaming, rows, and a declared length over the limit', async () => {
    const { upload, deps, campaignId, producer } = await setup();
    const big = buildCsv([HEADER, ...rowsOf(10_000)]);
    const tooBig = await refused(
      upload(big, { limits: { maxUploadBytes: 200_000, batchRecords: 50 } }),
      'upload-too-large',
    );
    // What was sealed before the limit was hit is produced and said so; nothing is silently lost.
    assert.ok(tooBig.progress.produced > 0);
    assert.equal(tooBig.progress.produced, producer.messages.length);
    assert.equal(tooBig.progress.notProduced, tooBig.progress.counts.accepted - tooBig.progress.produced);
    assert.ok(tooBig.progress.lastRowRead > 1 && tooBig.progress.lastRowRead < 10_001);

    await refused(upload(big, { limits: { maxRows: 100 } }), 'too-many-rows');
    producer.messages.length = 0;
    await refused(
      ingestUpload(deps, {
        campaignId,
        actor: ACTOR,
        purpose: 'advertising',
        source: chunked(big),
        declaredBytes: 2 * 1024 ** 3,
      }),
      'upload-too-large',
    );
    assert.equal(producer.messages.length, 0, 'refused by Content-Length before a byte is read');
  });

  test('malformed and truncated files answer a typed error that says what was produced', async () => {
    const { upload, producer } = await setup();
    const csv = buildCsv([HEADER, ...rowsOf(20)]);
    const unclosed = Buffer.concat([csv, Buffer.from('"김철수,010-9999-0000\r\n')]);
    const err = await refused(upload(unclosed, { limits: { batchRecords: 5 } }), 'malformed-csv');
    assert.equal(err.progress.produced, 20);
    assert.equal(producer.messages.length, 20);

    const xlsx = await buildXlsx([{ name: 'S', rows: [HEADER, ...rowsOf(20)] }]);
    const truncated = await refused(upload(xlsx.subarray(0, xlsx.length - 100)), 'malformed-xlsx');
    assert.equal(truncated.progress.produced, 0, 'a truncated xlsx is caught before anything is produced');
    await refused(upload(Buffer.from('PK\u0003\u0004 not really a zip at all')), 'malformed-xlsx');
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(600)]);
    await refused(upload(xls), 'unsupported-format');
  });

  test('zip bombs are refused by declared size, by ratio and by the declared sheet extent', async () => {
    const { upload, producer } = await setup();
    const padding = { name: 'xl/media/padding.bin', data: Buffer.alloc(8 * 1024 * 1024, 0x20) };
    const bomb = await buildXlsx([{ name: 'S', rows: [HEADER, ...rowsOf(5)] }], { extraParts: [padding] });
    assert.ok(bomb.length < 100_000, 'compresses ~1000-fold');
    const ratio = await refused(upload(bomb), 'zip-bomb');
    assert.match(ratio.message, /inflates \d+-fold/);
    const total = await refused(
      upload(bomb, { limits: { maxCompressionRatio: 5000, maxUncompressedBytes: 4 * 1024 * 1024 } }),
      'zip-bomb',
    );
    assert.match(total.message, /declares \d+ uncompressed bytes/);
    const tall = await buildXlsx([{ name: 'S', rows: [HEADER, ...rowsOf(5)] }], { dimension: 'A1:F5000000' });
    await refused(upload(tall), 'too-many-rows');
    assert.equal(producer.messages.length, 0);
  });

  test('backpressure: while Kafka does not acknowledge, the reader stops pulling the upload', async () => {
    const { deps, campaignId } = await setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let sends = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = {
      send: async () => {
        sends++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await gate;
        inFlight--;
        return [];
      },
    };
    // Sized from the buffers, not assumed to overflow them: between the source and the batcher sit
    // a handful of streams, each holding up to its high-water mark (64 KiB on Node 24, 16 KiB
    // before), plus the rows of the batches in flight and the one being filled. The file is four
    // times that bound, so a reader that ignored the stall would pull far past it.
    const rowBytes = buildCsv([rowsOf(1)[0]!]).length;
    const batchRecords = 100;
    const maxInFlightBatches = 2;
    const bound = 8 * getDefaultHighWaterMark(false) + (maxInFlightBatches + 1) * batchRecords * rowBytes;
    const rows = Math.ceil((4 * bound) / rowBytes);
    const csv = buildCsv([HEADER, ...rowsOf(rows)]);
    let pulled = 0;
    async function* source() {
      for (let at = 0; at < csv.length; at += 1000) {
        pulled += Math.min(1000, csv.length - at);
        yield csv.subarray(at, at + 1000);
      }
    }
    const running = ingestUpload(
      { ...deps, producer: slow },
      { campaignId, actor: ACTOR, purpose: 'advertising', source: source() },
      { batchRecords, maxInFlightBatches },
    );
    while (sends < 2) await new Promise((r) => setImmediate(r));
    // The upload is all in memory, so a reader that still pulls makes progress on every turn of the
    // event loop; turns are counted, not milliseconds, so a slower machine waits as many of them.
    for (let still = 0, seen = pulled; still < 500 && pulled < csv.length;) {
      await new Promise((r) => setImmediate(r));
      still = pulled === seen ? still + 1 : 0;
      seen = pulled;
    }
    assert.ok(pulled <= bound, `pulled ${pulled} of ${csv.length} bytes while Kafka was stalled (bound ${bound})`);
    release();
    const result = await running;
    assert.equal(result.produced, rows);
    assert.equal(maxInFlight, maxInFlightBatches, 'never more batches in flight than the bound');
  });

  test('a Kafka failure mid-upload reports what was acknowledged and what was not', async () => {
    const { upload, producer } = await setup();
    producer.failAfter = 3;
    const err = await refused(
      upload(buildCsv([HEADER, ...rowsOf(1000)]), { limits: { batchRecords: 100 } }),
      'kafka-unavailable',
    );
    assert.equal(err.progress.produced, 300);
    assert.equal(producer.messages.length, 300);
    assert.ok(err.progress.notProduced > 0);
    assert.equal(err.status, 503);
  });
});

describe('sendMessage', () => {
  test('seals one message on the same path; a retried request id maps to the same record', async () => {
    const { deps, producer, keys, campaignId } = await setup(
      { purpose: 'transactional', priorityClass: 'transactional' },
      'bank.otp',
    );
    const request = {
      campaignId,
      actor: ACTOR,
      purpose: 'transactional' as const,
      recipient: { phone: '010-1234-5678', name: '김철수', vars: { code: '123456' } },
      requestId: 'otp-42',
    };
    const first = await sendMessage(deps, request);
    const retry = await sendMessage(deps, request);
    const another = await sendMessage(deps, { ...request, requestId: undefined });
    assert.equal(first.recordId, retry.recordId);
    assert.notEqual(another.recordId, first.recordId);
    assert.equal(first.to, '010-****-5678');
    const record = CampaignRecord.decode(producer.messages[0]?.value as Buffer);
    assert.equal(record.priority, Priority.TRANSACTIONAL);
    const [key] = await keys.open(campaignId);
    const payload = RecipientPayload.decode(open(key!, record.sealedRecipient, recordAad(campaignId, record.recordId)));
    assert.deepEqual([payload.phone, payload.vars.code], ['01012345678', '123456']);
  });

  test('an invalid recipient or a purpose mismatch is refused with its reason', async () => {
    const { deps, campaignId, producer } = await setup({ purpose: 'informational', acceptMessages: true });
    const base = { campaignId, actor: ACTOR, purpose: 'informational' as const };
    await assert.rejects(sendMessage(deps, { ...base, recipient: { phone: '02-123-4567' } }), {
      code: 'invalid-recipient',
      message: 'the recipient was refused: landline (phone)',
    });
    await assert.rejects(
      sendMessage(deps, { ...base, purpose: 'transactional', recipient: { phone: '010-1234-5678' } }),
      {
        code: 'purpose-mismatch',
      },
    );
    assert.equal(producer.messages.length, 0);
  });

  test('only transactional and alert campaigns take single messages, unless one says so; advertising never', async () => {
    const advertising = await setup({ purpose: 'advertising', acceptMessages: true });
    await assert.rejects(
      sendMessage(advertising.deps, {
        campaignId: advertising.campaignId,
        actor: ACTOR,
        purpose: 'advertising',
        recipient: { phone: '010-1234-5678', consent: { advertising: true } },
      }),
      { code: 'messages-not-accepted', status: 403, message: /advertising: its recipients come from an uploaded/ },
    );
    const bulk = await setup({ purpose: 'informational', priorityClass: 'bulk' }, 'shop.notice');
    await assert.rejects(
      sendMessage(bulk.deps, {
        campaignId: bulk.campaignId,
        actor: ACTOR,
        purpose: 'informational',
        recipient: { phone: '010-1234-5678' },
      }),
      { code: 'messages-not-accepted', message: /\(bulk\) does not take single messages/ },
    );
    assert.equal(advertising.producer.messages.length + bulk.producer.messages.length, 0);
    assert.deepEqual(
      [advertising.audits.length, advertising.audits[0]?.actor, advertising.audits[0]?.errorCode],
      [1, ACTOR, 'messages-not-accepted'],
      'a refused message is audited with its caller',
    );
    const rule = (c: Partial<CampaignInfo>) =>
      acceptsMessages({ purpose: 'transactional', priorityClass: 'bulk', ...c });
    assert.deepEqual(
      [
        rule({ priorityClass: 'transactional' }),
        rule({ priorityClass: 'alert' }),
        rule({ priorityClass: 'normal' }),
        rule({ acceptMessages: true }),
        rule({ priorityClass: 'alert', acceptMessages: false }),
        rule({ purpose: 'advertising', priorityClass: 'alert' }),
      ],
      [true, true, false, true, false, false],
    );
  });
});

describe('a workbook from a real spreadsheet writer (openpyxl, inline strings, date cells, formulas)', () => {
  const fixture = readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'openpyxl-recipients.xlsx'),
  );

  test('is read row by row with the rules applied', async () => {
    const { deps, campaignId, producer } = await setup();
    const now = () => Date.UTC(2025, 5, 1);
    const upload = (sheet?: string) =>
      ingestUpload(
        { ...deps, now },
        { campaignId, actor: ACTOR, purpose: 'advertising', source: chunked(fixture), ...(sheet ? { sheet } : {}) },
      );
    const firstSheet = await refused(upload(), 'missing-phone-column');
    assert.match(firstSheet.message, /sheet "안내"; the workbook's sheets are "안내", "고객명단"/);
    const result = await upload('고객명단');
    assert.equal(result.headerRow, 3);
    assert.deepEqual(result.columns, {
      phone: '핸드폰',
      name: '성명',
      advertisingConsent: '광고 수신 동의',
      nightConsent: '야간수신동의',
      consentDate: '동의일자',
      vars: ['매장', '포인트'],
    });
    assert.deepEqual(
      { ...result.counts },
      {
        rows: 8,
        accepted: 3,
        duplicates: 1,
        rejected: 4,
        rejectedByReason: { landline: 1, 'no-advertising-consent': 1, formula: 2 },
        consentOlderThanTwoYears: 1,
        consentUndated: 0,
      },
    );
    assert.deepEqual(
      result.rejections.map((r) => [r.row, r.reason, r.column]),
      [
        [7, 'landline', '핸드폰'],
        [8, 'no-advertising-consent', '광고 수신 동의'],
        [9, 'formula', '핸드폰'],
        [11, 'formula', '포인트'],
      ],
    );
    assert.equal(producer.messages.length, 3);
  });
});
