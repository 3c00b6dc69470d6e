import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { KeyError } from './keys.ts';
import { LocalKekProvider } from './keys.ts';
import { MemoryKeyStore } from './key-store.ts';
import { open, seal } from './envelope.ts';

test('a campaign key is created once, opens what it sealed, and after destruction opens nothing', async () => {
  const store = new MemoryKeyStore(new LocalKekProvider('kek-1', randomBytes(32)));
  await assert.rejects(store.open('ns.promo'), (e: KeyError) => e.reason === 'no-campaign-key');
  const id = await store.ensure('ns.promo');
  assert.equal(await store.ensure('ns.promo'), id, 'ensure is idempotent');
  const [key] = await store.open('ns.promo');
  assert.equal(key!.id, id);
  const frame = seal(key!, Buffer.from('payload'));
  assert.deepEqual(await store.destroy('ns.promo'), { keyIds: [id], kms: [] });
  assert.deepEqual(await store.destroy('ns.promo'), { keyIds: [id], kms: [] }, 'destroy is idempotent');
  await assert.rejects(store.open('ns.promo'), (e: KeyError) => e.reason === 'campaign-key-destroyed');
  await assert.rejects(store.ensure('ns.promo'), (e: KeyError) => e.reason === 'campaign-key-destroyed');
  key!.destroy();
  assert.throws(() => open(key!, frame));
});
