import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateDataKey, LocalKekProvider, unwrapDataKey } from './keys.ts';
import { deriveNamespaceKek, NamespaceKekProvider, namespaceOfCampaign } from './namespace-kek.ts';

const platform = randomBytes(32);
const kek = new NamespaceKekProvider('kek-1', platform);

test("a campaign's key wrapped under its namespace's KEK opens with that namespace's KEK alone", async () => {
  const key = generateDataKey('dek');
  const wrapped = await kek.wrap(key, 'mart.weekend');
  // What the mart namespace's Secret holds (and its workers mount): opens mart's campaign.
  const mart = kek.namespaceKek('mart');
  assert.equal(mart.id, 'kek-1', 'the id names the KEK version; rotation compares it');
  assert.notDeepEqual(mart.material, platform, 'the namespace never holds the platform KEK');
  const opened = await unwrapDataKey([new LocalKekProvider(mart.id, mart.material)], wrapped, 'mart.weekend');
  assert.deepEqual(opened.material, key.material);
  // Another tenant's namespace KEK, even with the wrapped key copied to a campaign of its own name.
  const bank = kek.namespaceKek('bank');
  await assert.rejects(
    new LocalKekProvider(bank.id, bank.material).unwrap(wrapped, 'mart.weekend'),
    (err: Error & { reason?: string }) => err.reason === 'unwrap-failed',
  );
  // The platform KEK used directly (no derivation) does not open it either: the material differs.
  await assert.rejects(new LocalKekProvider('kek-1', platform).unwrap(wrapped, 'mart.weekend'));
  assert.deepEqual((await kek.unwrap(wrapped, 'mart.weekend')).material, key.material);
});

test('derivation is per namespace and stable; a campaign id must name its namespace', () => {
  assert.deepEqual(deriveNamespaceKek(platform, 'mart'), deriveNamespaceKek(platform, 'mart'));
  assert.notDeepEqual(deriveNamespaceKek(platform, 'mart'), deriveNamespaceKek(platform, 'mart2'));
  assert.notDeepEqual(deriveNamespaceKek(platform, 'mart'), deriveNamespaceKek(randomBytes(32), 'mart'));
  assert.equal(namespaceOfCampaign('mart.weekend.promo'), 'mart');
  assert.throws(() => namespaceOfCampaign('weekend'), /names no namespace/);
  assert.throws(() => new NamespaceKekProvider('k', randomBytes(16)), /32 bytes/);
});
