// Against the local stack's real OpenBao (transit engine, the policies of policies.ts applied at
// `stack up`): a key per campaign, who may use it, and its destruction as the KMS answers it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataKey, generateDataKey, KeyError } from '@anshim/core';
import { freePort, kmsRootToken, requireStack } from '@anshim/dev-platform';
import { NamespaceTokens } from './namespace-tokens.ts';
import { KmsError, TransitClient } from './transit-client.ts';
import { TransitKekProvider } from './transit-kek.ts';

const run = `${process.pid}${Date.now().toString(36)}`;
const kms = () => requireStack().kms;
const client = (who: 'operator' | 'gateway' | 'auditor') =>
  new TransitClient({ address: kms().address, tokenFile: kms().tokens[who] });
const provider = (c: TransitClient) => new TransitKekProvider({ client: c, mount: kms().mount });
const reason = (r: string) => (e: unknown) => e instanceof KeyError && e.reason === r;

test('a key per campaign: the operator wraps, the gateway opens, a namespace token opens its own namespace only', async () => {
  const mart = `kmsmart${run}.weekend`;
  const bank = `kmsbank${run}.payday`;
  const operator = provider(client('operator'));
  const dek = generateDataKey(mart);
  const wrapped = await operator.wrap(dek, mart);
  assert.ok(!wrapped.includes(dek.material), 'the wrapped blob does not hold the key');
  const opened = await provider(client('gateway')).unwrap(wrapped, mart);
  assert.equal(opened.id, dek.id);
  assert.ok(opened.material.equals(dek.material));
  // The operator never decrypts.
  await assert.rejects(operator.unwrap(wrapped, mart), reason('unwrap-failed'));
  // Bound to its campaign: the same blob presented as another campaign's opens nothing.
  await assert.rejects(
    provider(client('gateway')).unwrap(wrapped, `kmsmart${run}.other`),
    (e: unknown) => e instanceof KeyError,
  );

  const tokens = new NamespaceTokens(client('operator'), kms().mount);
  const martToken = await tokens.ensure(`kmsmart${run}`);
  assert.ok(martToken);
  assert.equal(await tokens.ensure(`kmsmart${run}`, martToken), undefined, 'a valid token is kept');
  const asMart = provider(new TransitClient({ address: kms().address, token: martToken }));
  assert.ok((await asMart.unwrap(wrapped, mart)).material.equals(dek.material));
  const bankWrapped = await operator.wrap(generateDataKey(bank), bank);
  await assert.rejects(asMart.unwrap(bankWrapped, bank), (e: unknown) => {
    assert.ok(e instanceof KeyError && e.reason === 'unwrap-failed', String(e));
    assert.match(e.message, /forbidden.*403|403.*permission denied/);
    console.log(`refused  mart's namespace token: unwrap bank's key: ${e.message}`);
    return true;
  });
  // A revoked token is replaced, not kept.
  await new TransitClient({ address: kms().address, token: martToken }).call('POST', 'auth/token/revoke-self', {});
  const fresh = await tokens.ensure(`kmsmart${run}`, martToken);
  assert.ok(fresh && fresh !== martToken);
  dek.destroy();
});

test('shredding deletes the campaign key in the KMS: its wrapped data key never opens again, not even for root', async () => {
  const id = `kmsshred${run}.once`;
  const operator = provider(client('operator'));
  const dek = generateDataKey(id);
  const wrapped = await operator.wrap(dek, id);
  assert.equal(await operator.campaignKeyExists(id), true);
  const destruction = await operator.destroyCampaignKek(id);
  console.log(
    `destroyed  ${destruction.keyName}: ${destruction.answer} at ${destruction.destroyedAt} (${destruction.kms})`,
  );
  assert.equal(destruction.kekId, operator.id);
  assert.match(destruction.answer, /DELETE .* → 204; GET .* → 404/);
  assert.equal(await operator.campaignKeyExists(id), false);
  const root = provider(new TransitClient({ address: kms().address, token: kmsRootToken(kms()) }));
  await assert.rejects(root.unwrap(wrapped, id), (e: unknown) => {
    assert.ok(e instanceof KeyError && e.reason === 'campaign-key-destroyed', String(e));
    return true;
  });
  // The auditor can see it is gone, and could not have decrypted it while it lived.
  await assert.rejects(client('auditor').call('GET', `${kms().mount}/keys/campaign.${id}`), (e: unknown) => {
    assert.ok(e instanceof KmsError && e.reason === 'not-found', String(e));
    return true;
  });
  // Idempotent: a second shredding (the operator restarted before recording it) confirms it absent.
  const again = await operator.destroyCampaignKek(id);
  assert.match(again.answer, /404/);
  dek.destroy();
});

test('the KMS unreachable: wrapping, unwrapping and destroying fail as kms-unavailable, nothing is lost', async () => {
  const down = provider(
    new TransitClient({ address: `http://127.0.0.1:${await freePort()}`, token: 'x', timeoutMs: 1000 }),
  );
  const id = `kmsdown${run}.x`;
  const dek = new DataKey(`${id}-k`, Buffer.alloc(32, 7));
  await assert.rejects(down.wrap(dek, id), reason('kms-unavailable'));
  await assert.rejects(down.destroyCampaignKek(id), reason('kms-unavailable'));
  const wrapped = await provider(client('operator')).wrap(dek, id);
  await assert.rejects(down.unwrap(wrapped, id), reason('kms-unavailable'));
  // The key is still there for when the KMS is back.
  assert.ok((await provider(client('gateway')).unwrap(wrapped, id)).material.equals(dek.material));
});

test("the KMS's own key rotation: blobs wrapped under the old version still open, and shredding deletes every version", async () => {
  const id = `kmsrotate${run}.r`;
  const operator = provider(client('operator'));
  const gateway = provider(client('gateway'));
  const dek = generateDataKey(id);
  const v1 = await operator.wrap(dek, id);
  const root = new TransitClient({ address: kms().address, token: kmsRootToken(kms()) });
  await root.call('POST', `${kms().mount}/keys/campaign.${id}/rotate`, {});
  const v2 = await operator.wrap(dek, id);
  assert.match(v2.toString('latin1'), /vault:v2:/);
  for (const blob of [v1, v2]) assert.ok((await gateway.unwrap(blob, id)).material.equals(dek.material));
  await operator.destroyCampaignKek(id);
  for (const blob of [v1, v2]) await assert.rejects(gateway.unwrap(blob, id), reason('campaign-key-destroyed'));
  dek.destroy();
});
