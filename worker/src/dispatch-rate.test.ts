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

test('a chunk goes in pieces of a tenth of a second, each sent without waiting for the last; outcomes in order', async () => {
  let waits = 0;
  const pace = new DispatchRate(new Map([['shop.weekend', 1000]]), { onWait: async () => void waits++ });
  const sizes: number[] = [];
  const items = Array.from({ length: 250 }, (_, i) => i);
  const out = await pace.paced('shop.weekend', items, async (part) => {
    sizes.push(part.length);
    return part.map((i) => i * 2);
  });
  assert.deepEqual(sizes, [100, 100, 50]);
  assert.equal(waits, 2, 'a heartbeat between pieces');
  assert.deepEqual(
    out,
    items.map((i) => i * 2),
  );
  const unpaced: number[] = [];
  await pace.paced('bank.otp', items, async (part) => {
    unpaced.push(part.length);
    return part;
  });
  assert.deepEqual(unpaced, [250], 'a campaign without a rate goes whole');
});
