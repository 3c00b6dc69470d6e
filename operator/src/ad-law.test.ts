import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdvertisingBodyError, advertisingBody } from './ad-law.ts';
import { type MessagingCampaign } from '@anshim/api';

const mc = (body: string, purpose: MessagingCampaign['spec']['purpose'] = 'advertising'): MessagingCampaign => ({
  metadata: { name: 'promo', namespace: 'mart' },
  spec: {
    purpose,
    channel: 'TEXT',
    template: { body },
    sender: { name: '안심마트', callbackNumber: '15881234', optOutNumber: '0801234567' },
    processors: ['skt'],
    audience: { datasetRef: { name: 'members' } },
    rateLimit: { messagesPerSecond: 100 },
  },
});

test('an advertising body gets the (광고) header, the sender, its contact and the free opt-out', () => {
  const body = advertisingBody(mc('#{name}님 주말 20% 할인'));
  assert.ok(body.startsWith('(광고)안심마트 #{name}님'), body);
  assert.match(body, /문의 15881234/);
  assert.match(body, /무료수신거부 0801234567$/);
});

test('a body that already carries everything is left as written', () => {
  const text = '(광고) 안심마트 #{name}님 할인! 문의 1588-1234 무료수신거부 080-123-4567';
  assert.equal(advertisingBody(mc(text)), text);
});

test('a header buried inside the body is refused', () => {
  assert.throws(() => advertisingBody(mc('할인 (광고) 안내')), AdvertisingBodyError);
});

test('informational bodies are not touched', () => {
  assert.equal(advertisingBody(mc('택배가 도착했습니다', 'informational')), '택배가 도착했습니다');
});
