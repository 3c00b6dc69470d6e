import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeProgress,
  encodeProgress,
  parseProgressKey,
  progressKey,
  ProgressRecordError,
  type CampaignProgress,
} from './progress.ts';

const sample: CampaignProgress = {
  campaignId: 'shop.weekend',
  workerId: 'anshim-worker-weekend-0',
  sent: 2_003,
  duplicates: 4,
  results: { DELIVERED: 1_990, HANDSET_OFF: 9 },
  fellBack: 120,
  deadLettered: { 'invalid-number': 1 },
  held: 0,
  updatedAt: 1_767_000_000_000,
};

test('a progress record round-trips through ProgressRecord', () => {
  assert.deepEqual(decodeProgress(encodeProgress(sample)), sample);
});

test('a JSON record from a worker before ProgressRecord is still read', () => {
  assert.deepEqual(decodeProgress(Buffer.from(JSON.stringify(sample))), sample);
});

test('an unreadable record is a typed error, not a crash', () => {
  assert.throws(() => decodeProgress(Buffer.from('{not json')), ProgressRecordError);
  assert.throws(() => decodeProgress(Buffer.from([0x0a, 0xff, 0xff])), ProgressRecordError);
});

test('the compaction key splits back into campaign and worker', () => {
  assert.equal(progressKey(sample), 'shop.weekend/anshim-worker-weekend-0');
  assert.deepEqual(parseProgressKey(progressKey(sample)), {
    campaignId: 'shop.weekend',
    workerId: 'anshim-worker-weekend-0',
  });
  assert.equal(parseProgressKey('no-slash'), undefined);
  assert.equal(parseProgressKey('trailing/'), undefined);
});
