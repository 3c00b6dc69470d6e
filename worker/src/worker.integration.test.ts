import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, generateDataKey } from '@anshim/core';
import { Channel, DeadLetter, ResultCode } from '@anshim/proto';
import {
  requireStack,
  alimTalkCampaign,
  createCampaignTopic,
  fakeRecipients,
  produceRecipients,
  readKeyed,
  readReports,
  scanFiles,
  stackKafka,
  TestCarriers,
  waitFor,
} from '@anshim/dev-platform';
import { StaticCampaignDirectory } from './campaign.ts';
import { StaticCampaignKeys } from './keys.ts';
import { MessagingWorker } from './worker.ts';
import { campaignTopic, TOPICS } from '@anshim/api';

const CANARY = { phone: '010-9999-0417', national: '01099990417', name: '카나리아' };

describe('worker against real Kafka and gRPC carrier simulators (mTLS)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'anshim-worker-it-'));
  const logFile = join(tmp, 'worker.log');
  const kafka = stackKafka('worker-it');
  const carriers = new TestCarriers();

  before(async () => {
    await carriers.start({
      kakaoAudience: { notUserShare: 0.2, blockedShare: 0.05 },
      failureRates: { [ResultCode.HANDSET_OFF]: 0.02 },
      logger: createLogger('simulator', { destination: logFile }),
    });
  });
  after(async () => {
    await carriers.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test(
    'AlimTalk with SMS fallback: every record reaches one carrier once; bad records dead-letter; reports flow; no plaintext leaks',
    { timeout: 180_000 },
    async () => {
      const campaignId = `alim-${Date.now()}`;
      const spec = alimTalkCampaign(campaignId);
      const dataKey = generateDataKey(campaignId);
      await createCampaignTopic(kafka, campaignTopic(campaignId), 6);
      const recipients = [...fakeRecipients(3000), { phone: CANARY.phone, name: CANARY.name, vars: { code: '4242' } }];
      const invalid = { phone: '02-123-4567', name: '유선번호', vars: { code: '1' } };
      await produceRecipients(kafka, campaignTopic(campaignId), dataKey, campaignId, [...recipients, invalid], {
        extraValues: [Buffer.from('not a record'), Buffer.from([0x0a, 0xff, 0xff])],
      });
      const keys = new StaticCampaignKeys();
      keys.add(campaignId, { id: dataKey.id, material: dataKey.material });
      const worker = new MessagingWorker(carriers.workerConfig(spec), {
        campaigns: new StaticCampaignDirectory([spec]),
        keys,
        log: createLogger('worker', { destination: logFile }),
      });
      await worker.start();
      try {
        await waitFor(
          'every valid record accepted by a carrier',
          () => carriers.accepted(campaignId) >= recipients.length,
          120_000,
        );
        const kakao = carriers.sim('kakao').ledger.campaign(campaignId)!;
        const viaSms = carriers.accepted(campaignId, ['skt', 'kt', 'lguplus']);
        assert.equal(
          kakao.messages + viaSms,
          recipients.length,
          'each logical message accepted by exactly one carrier',
        );
        assert.ok(
          viaSms > recipients.length * 0.15 && viaSms < recipients.length * 0.4,
          `fallbacks ${viaSms} ≈ 25% non-users/blocked`,
        );
        assert.equal(carriers.reaccepted(campaignId), 0);

        const dead = (await readKeyed(kafka, TOPICS.deadLetters, campaignId, 3)).map((v) => DeadLetter.decode(v));
        assert.deepEqual(dead.map((d) => d.reason).sort(), ['invalid-phone', 'malformed-record', 'malformed-record']);
        assert.ok(
          dead.every((d) => d.original.length > 0),
          'dead letters keep the sealed original',
        );

        // The worker reports Kakao's rejections (first attempts of fallen-back messages); carriers report the rest.
        const reports = await readReports(kafka, campaignId, recipients.length + viaSms, 120_000);
        const fallbackReports = reports.filter((r) => r.fallback);
        assert.equal(fallbackReports.length, viaSms);
        assert.ok(fallbackReports.every((r) => r.fallbackFromChannel === Channel.ALIMTALK));
        const kakaoRefusals = new Set([ResultCode.NOT_KAKAO_USER, ResultCode.KAKAO_BLOCKED]);
        const refused = reports.filter(
          (r) => r.report?.channel === Channel.ALIMTALK && kakaoRefusals.has(r.report.result ?? 0),
        );
        assert.equal(refused.length, viaSms, 'both attempts of a fallen-back message show in the reports');
        const progress = worker.progress.get(campaignId)!;
        assert.equal(progress.fellBack, viaSms);
        assert.equal(progress.deadLettered['malformed-record'], 2);
      } finally {
        await worker.stop();
      }

      // Canary scan: Kafka's data files on disk, and every log line the worker and simulators wrote.
      const needles = [CANARY.national, CANARY.phone, CANARY.name].map((s) => Buffer.from(s, 'utf8'));
      assert.deepEqual([...scanFiles(requireStack().kafka.dataDir, needles), ...scanFiles(tmp, needles)], []);
      assert.ok(readFileSync(logFile, 'utf8').includes('worker started'), 'the log scan read real log lines');
      // Control: the scan does see what Kafka stores in the clear (the garbage record's bytes).
      assert.ok(scanFiles(requireStack().kafka.dataDir, [Buffer.from('not a record')]).length > 0);
    },
  );
});
