import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLogger, generateDataKey, optOutRecord } from '@anshim/core';
import { DeadLetter, type IRecipientPayload } from '@anshim/proto';
import type { CampaignSpec } from './campaign.ts';
import { StaticCampaignDirectory } from './campaign.ts';
import { StaticCampaignKeys } from './keys.ts';
import { MessagingWorker } from './worker.ts';
import { campaignTopic, holdTopic, TOPICS } from '@anshim/api';
import {
  createCampaignTopic,
  fakeRecipients,
  produceRecipients,
  readKeyed,
  stackKafka,
  TEST_CARRIERS,
  TestCarriers,
  waitFor,
} from '@anshim/dev-platform';

const kafka = stackKafka('ad-law-it');
const carriers = new TestCarriers();
const OPT_OUT_LINE = '0801234567';

before(async () => {
  await carriers.start({ logger: createLogger('simulator', { level: 'warn' }) });
});
after(async () => {
  await carriers.stop();
});

test(
  'advertising at 22:00 KST: night consent goes, the rest waits for 08:00, opt-outs (even mid-campaign) and missing consent never go',
  { timeout: 180_000 },
  async () => {
    const campaignId = `ad-${Date.now()}`;
    const spec: CampaignSpec = {
      id: campaignId,
      channel: 'TEXT',
      fallback: [],
      template: '(광고) 안심마트 #{name}님 주말 특가 무료수신거부 080-123-4567',
      senderNumber: '15881234',
      processors: TEST_CARRIERS,
      ttlMs: 0,
      purpose: 'advertising',
      optOutNumber: OPT_OUT_LINE,
    };
    const optOutKey = randomBytes(32);
    let clock = Date.parse('2026-11-24T22:00:00+09:00');
    const withConsent = (night: boolean) => (r: IRecipientPayload) => ({
      ...r,
      consent: { advertising: true, night, consentedAtMs: Date.now() },
    });
    const nightConsent = [...fakeRecipients(10, 0)].map(withConsent(true));
    const dayOnly = [...fakeRecipients(10, 100)].map(withConsent(false));
    const optedOutBefore = [...fakeRecipients(5, 200)].map(withConsent(true));
    const noConsent = [...fakeRecipients(1, 300)].map((r) => ({ ...r, consent: { advertising: false } }));

    await createCampaignTopic(kafka, campaignTopic(campaignId), 3);
    await createCampaignTopic(kafka, holdTopic(campaignId), 3);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: TOPICS.optOuts,
      messages: optedOutBefore.map((r) => optOutRecord(optOutKey, OPT_OUT_LINE, r.phone!)),
    });

    const dataKey = generateDataKey(campaignId);
    const keys = new StaticCampaignKeys();
    keys.add(campaignId, { id: dataKey.id, material: dataKey.material });
    const worker = new MessagingWorker(
      carriers.workerConfig(spec, {
        topics: [campaignTopic(campaignId)],
        holdTopics: [holdTopic(campaignId)],
        optOutKey,
        now: () => clock,
      }),
      { campaigns: new StaticCampaignDirectory([spec]), keys, log: createLogger('worker', { level: 'warn' }) },
    );
    await worker.start();
    try {
      await produceRecipients(kafka, campaignTopic(campaignId), dataKey, campaignId, [
        ...nightConsent,
        ...dayOnly,
        ...optedOutBefore,
        ...noConsent,
      ]);
      await waitFor('night-consent messages sent, the rest held', () => {
        const p = worker.progress.get(campaignId);
        return carriers.accepted(campaignId) >= 10 && (p?.held ?? 0) >= 10;
      });
      assert.equal(carriers.accepted(campaignId), 10, 'only recipients with night consent at 22:00');
      const refused = (await readKeyed(kafka, TOPICS.deadLetters, campaignId, 6)).map(
        (v) => DeadLetter.decode(v).reason,
      );
      assert.deepEqual(refused.sort(), ['no-advertising-consent', ...Array(5).fill('opted-out')]);

      // One held recipient opts out during the night: the morning send skips them.
      const optOutsBefore = worker.optOutCount;
      await producer.send({
        topic: TOPICS.optOuts,
        messages: [optOutRecord(optOutKey, OPT_OUT_LINE, dayOnly[0]!.phone!)],
      });
      // Morning comes only once the worker has the opt-out, however long the topic takes to reach it.
      await waitFor('the worker to follow the opt-out', () => worker.optOutCount === optOutsBefore + 1);
      assert.equal(carriers.accepted(campaignId), 10, 'nothing held leaves before 08:00');

      clock = Date.parse('2026-11-25T08:00:00+09:00');
      await waitFor('held messages sent at 08:00', () => carriers.accepted(campaignId) >= 19);
      const later = (await readKeyed(kafka, TOPICS.deadLetters, campaignId, 7)).map((v) => DeadLetter.decode(v).reason);
      assert.equal(later.filter((r) => r === 'opted-out').length, 6);
      // An absence (nothing sent twice) has no event to wait for: a second's chance to misbehave. A
      // faster or slower machine changes only how much chance, never the verdict on a correct worker.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(carriers.accepted(campaignId), 19);
      assert.equal(carriers.reaccepted(campaignId), 0);
    } finally {
      await worker.stop();
      await producer.disconnect();
    }
  },
);
