import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { KeyError } from '@anshim/core';
import { LocalKekProvider, NamespaceKekProvider, open, seal, wrappedKekId } from '@anshim/core';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { createNamespace, kubeConfig, kubectl, requireStack } from '@anshim/dev-platform';
import { KubernetesKeyStore } from './kubernetes-key-store.ts';

test('data keys live wrapped in Secrets; a KEK rotation re-wraps them without touching sealed data; destruction leaves a tombstone', async () => {
  const ns = createNamespace('keys-it');
  const kc = kubeConfig();
  const kek1 = new LocalKekProvider('kek-old', randomBytes(32));
  const kek2 = new LocalKekProvider('kek-new', randomBytes(32));
  const campaign = `${ns}.promo`;

  const before = new KubernetesKeyStore(kc, [kek1]);
  const id = await before.ensure(campaign);
  const [key] = await before.open(campaign);
  const record = seal(key!, Buffer.from('sealed recipient'));
  const stored = JSON.parse(kubectl(['get', 'secret', 'anshim-dek-promo', '-n', ns, '-o', 'json'])) as {
    data: Record<string, string>;
  };
  assert.ok(!Buffer.from(stored.data.wrapped!, 'base64').includes(key!.material), 'etcd holds only the wrapped key');

  // The operator restarts with a new KEK and the old one as previous: the key is re-wrapped.
  const rotating = new KubernetesKeyStore(kc, [kek2, kek1]);
  assert.equal(await rotating.ensure(campaign), id, 'same data key');
  const [rewrapped] = await new KubernetesKeyStore(kc, [kek2]).open(campaign);
  assert.equal(open(rewrapped!, record).toString(), 'sealed recipient', 'old records open under the new KEK');
  await assert.rejects(before.open(campaign), (e: KeyError) => e.reason === 'unknown-kek', 'the old KEK is retired');

  assert.deepEqual(await rotating.destroy(campaign), { keyIds: [id], kms: [] });
  await assert.rejects(rotating.open(campaign), (e: KeyError) => e.reason === 'campaign-key-destroyed');
  await assert.rejects(rotating.ensure(campaign), (e: KeyError) => e.reason === 'campaign-key-destroyed');
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

test("a wrapped key copied into another campaign's Secret (another tenant's, or a sibling's) opens nothing", async () => {
  const theirs = createNamespace('keys-theirs');
  const mine = createNamespace('keys-mine');
  const kc = kubeConfig();
  const store = new KubernetesKeyStore(kc, [new LocalKekProvider('kek-shared', randomBytes(32))]);
  await store.ensure(`${theirs}.members`);
  await store.ensure(`${mine}.promo`);
  const stolen = JSON.parse(kubectl(['get', 'secret', 'anshim-dek-members', '-n', theirs, '-o', 'json'])) as {
    data: Record<string, string>;
  };
  // Same KEK, the victim's wrapped key pasted into a Secret the attacker may write.
  for (const [ns, name] of [
    [mine, 'promo'],
    [theirs, 'other'],
  ] as const) {
    if (name === 'other') await store.ensure(`${ns}.${name}`);
    kubectl([
      'patch',
      'secret',
      `anshim-dek-${name}`,
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ data: { wrapped: stolen.data.wrapped } }),
    ]);
    await assert.rejects(
      store.open(`${ns}.${name}`),
      (e: KeyError) => e.reason === 'unwrap-failed',
      `${ns}.${name} does not open the copy`,
    );
  }
  const [own] = await store.open(`${theirs}.members`);
  assert.ok(own, 'the key still opens for its own campaign');
  for (const ns of [theirs, mine]) kubectl(['delete', 'namespace', ns, '--wait=false']);
});

test("KEK rotation into the KMS: a key wrapped under the local KEK moves under the campaign's own KMS key, and shredding deletes it there", async () => {
  const ns = createNamespace('keys-kms');
  const kc = kubeConfig();
  const { kms } = requireStack();
  const local = new NamespaceKekProvider('kek-local', randomBytes(32));
  const operatorKms = new TransitKekProvider({
    client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.operator }),
    mount: kms.mount,
  });
  const gatewayKms = new TransitKekProvider({
    client: new TransitClient({ address: kms.address, tokenFile: kms.tokens.gateway }),
    mount: kms.mount,
  });
  const campaign = `${ns}.promo`;
  const id = await new KubernetesKeyStore(kc, [local]).ensure(campaign);
  const [key] = await new KubernetesKeyStore(kc, [local]).open(campaign);
  const record = seal(key!, Buffer.from('sealed recipient'));

  // The operator restarts with --kms-address and the old --kek-file: the key is re-wrapped into the KMS.
  const moving = new KubernetesKeyStore(kc, [operatorKms, local]);
  assert.equal(await moving.ensure(campaign), id, 'same data key');
  const [wrapped] = await moving.wrapped(campaign);
  assert.equal(wrappedKekId(wrapped!), operatorKms.id);
  const [moved] = await new KubernetesKeyStore(kc, [gatewayKms]).open(campaign);
  assert.equal(open(moved!, record).toString(), 'sealed recipient', 'old records open under the KMS key');
  await assert.rejects(
    new KubernetesKeyStore(kc, [local]).open(campaign),
    (e: KeyError) => e.reason === 'unknown-kek',
    'the local KEK no longer opens it',
  );

  const destroyed = await moving.destroy(campaign);
  assert.deepEqual(destroyed.keyIds, [id]);
  assert.equal(destroyed.kms.length, 1);
  assert.equal(destroyed.kms[0]!.keyName, `campaign.${campaign}`);
  assert.equal(await operatorKms.campaignKeyExists(campaign), false);
  // The copy of the wrapped key taken before shredding (an etcd revision, a backup) is inert.
  await assert.rejects(gatewayKms.unwrap(wrapped!, campaign), (e: KeyError) => e.reason === 'campaign-key-destroyed');
  assert.deepEqual(await moving.destroy(campaign), destroyed, 'idempotent: the tombstone keeps what the KMS answered');
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});
