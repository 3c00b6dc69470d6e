import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DispatchRate } from './dispatch-rate.ts';

test('each worker paces at the campaign rate times its partition share; unknown campaigns are not paced', () => {
  const pace = new DispatchRate(new Map([['shop.weekend', 300]]));
  assert.equal(pace.perSecond('shop.weekend'), 300, 'before the first assignment: the whole rate');
  pace.setShare(2, 6);
  assert.equal(pace.perSecond('shop.weekend'), 100);
  pace.setShare(3, 6);
  assert.equal(pace.perSecond('shop.weekend'), 150, 'a rebalance re-divides it');
  // Three replicas of 2 partitions each: the shares sum to the rate.
  const shares = [2, 2, 2].map((n) => {
    const p = new DispatchRate(new Map([['shop.weekend', 300]]));
    p.setShare(n, 6);
    return p.perSecond('shop.weekend')!;
  });
  assert.equal(
    shares.reduce((a, b) => a + b, 0),
    300,
  );
  assert.equal(pace.perSecond('bank.otp'), undefined);
});

test('a chunk larger than a second of the rate is taken in pieces, with a heartbeat between them', async () => {
  let waits = 0;
  const pace = new DispatchRate(new Map([['shop.weekend', 200]]), { onWait: async () => void waits++ });
  await pace.take('shop.weekend', 401);
  assert.equal(waits, 2, 'pieces of 200, 200 and 1: a heartbeat after each of the first two');
  await pace.take('bank.otp', 10_000);
  assert.equal(waits, 2, 'a campaign without a rate does not wait');
});
