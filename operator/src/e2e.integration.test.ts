import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import * as k8sApi from '@kubernetes/client-node';
import { kekFrame, NamespaceKekProvider, type DataKey, type KeyEncryptionKeyProvider } from '@anshim/core';
import { TransitClient, TransitKekProvider } from '@anshim/kms';
import { NAMESPACE_KEK_SECRET } from '@anshim/api';
import type { Kafka } from 'kafkajs';
import {
  KafkaAuditStore,
  findTransitCiphertexts,
  keyHistory,
  keysWithPrefix,
  proveShredded,
  shredSampleFromCampaignRecord,
  type SignedDestructionCertificate,
} from '@anshim/compliance';
import {
  campaignReader,
  repoRoot,
  requireStack,
  fakeRecipients,
  scanFiles,
  stackKafka,
  TestCarriers,
  applyCarrierFleet,
  applyExampleCampaign,
  applyWorkerSecrets,
  createNamespace,
  deleteCampaigns,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  startLocalRunner,
  startOperator,
  testKek,
  kekArgs,
  kmsRootToken,
  type OperatorProcess,
  type LocalRunner,
  serviceAccountToken,
  startProcess,
  stopProcess,
  type Started,
  kafkaEnv,
} from '@anshim/dev-platform';
import { KubernetesKeyStore } from '@anshim/keystore';
import { findPhoneLike } from '@anshim/compliance';

const CANARY = { phone: '01099990417', dashed: '010-9999-0417', name: '카나리아' };
const RECIPIENTS = 800;
const kek = testKek();
const carriers = new TestCarriers();
let ns: string;
let kc: k8s.KubeConfig;
let kafka: Kafka;
let runner: LocalRunner;
let operator: OperatorProcess;
let gateway: Started<{ url: string }> | undefined;
let optOutKeyFile: string;
/** The mart's sending system and the 080 provider, as ServiceAccounts with the gateway's roles. */
let senderToken: string;
let optOutToken: string;
const gatewayIdentity = () => `e2e-gateway-${ns}`;

async function readSamples(topic: string, n: number): Promise<Buffer[]> {
  const consumer = kafka.consumer({ groupId: `samples-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: Buffer[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => void (message.value && values.length < n && values.push(message.value)),
  });
  await eventually('sample records', async () => (values.length >= n ? true : undefined));
  await consumer.disconnect();
  return values;
}

/** The topic's segment files (every partition), copied aside; their bytes. */
function copySegments(dataDir: string, topic: string, to: string): Buffer[] {
  mkdirSync(to, { recursive: true });
  const out: Buffer[] = [];
  for (const dir of readdirSync(dataDir).filter((d) => d.startsWith(`${topic}-`)))
    for (const f of readdirSync(join(dataDir, dir)).filter((f) => f.endsWith('.log'))) {
      copyFileSync(join(dataDir, dir, f), join(to, `${dir}-${f}`));
      out.push(readFileSync(join(to, `${dir}-${f}`)));
    }
  return out;
}

/** Every etcd key (now) that holds the data key id, or a wrapped key in the campaign's namespace. */
async function etcdCopies(campaignId: string, keyId: string) {
  const { etcd } = requireStack();
  const namespace = campaignId.slice(0, campaignId.indexOf('.'));
  const { revision, keys } = await keysWithPrefix(etcd.endpoint, '/registry/');
  const found = keys.filter(
    (k) => k.value.includes(keyId) || (k.key.includes(`/${namespace}/`) && findTransitCiphertexts(k.value).length > 0),
  );
  return {
    revision,
    keys: found.map((k) => k.key),
    ciphertexts: [...new Set(found.flatMap((k) => findTransitCiphertexts(k.value)))],
  };
}

async function etcdHistoryCopies(keys: string[], fromRevision: number) {
  const { etcd } = requireStack();
  let revisions = 0;
  const ciphertexts = new Set<string>();
  for (const key of keys) {
    const seen = new Set<number>();
    for (const from of [undefined, fromRevision]) {
      for (const r of (await keyHistory(etcd.endpoint, key, from)).revisions) {
        if (seen.has(r.modRevision)) continue;
        seen.add(r.modRevision);
        revisions++;
        for (const c of findTransitCiphertexts(r.value)) ciphertexts.add(c);
      }
    }
  }
  return { revisions, ciphertexts: [...ciphertexts] };
}

/** Every key the platform holds that could open a campaign's wrapped data key: the KMS as root, the gateway, the namespace's token, the local KEK. */
function keyHolders(namespaceToken: string): KeyEncryptionKeyProvider[] {
  const { kms } = requireStack();
  const transit = (c: TransitClient) => new TransitKekProvider({ client: c, mount: kms.mount });
  return [
    transit(new TransitClient({ address: kms.address, token: kmsRootToken(kms) })),
    kek.provider,
    transit(new TransitClient({ address: kms.address, token: namespaceToken })),
    new NamespaceKekProvider(kek.id, Buffer.from(readFileSync(kek.file, 'utf8').trim(), 'hex')),
  ];
}

async function recoverKeys(ciphertexts: string[], campaignId: string, holders: KeyEncryptionKeyProvider[]) {
  const opened: DataKey[] = [];
  for (const ciphertext of ciphertexts)
    for (const holder of holders) {
      const frame = kekFrame(holder.id, Buffer.from(ciphertext, 'utf8'));
      const key = await holder.unwrap(frame, campaignId).catch(() => undefined);
      if (key) opened.push(key);
    }
  return opened;
}

before(async () => {
  installCrds();
  ns = createNamespace('e2e');
  kc = kubeConfig();
  kafka = stackKafka('e2e-it');
  await carriers.start({ kakaoTemplates: ['WEEKEND_PROMO'] });
  // The fleet's Secrets, as the Helm chart would install them, and the fleet.
  optOutKeyFile = applyWorkerSecrets(ns, kek, carriers);
  applyCarrierFleet(ns, carriers, { lagPerReplica: 300, cooldownSeconds: 3, pollSeconds: 1 });
  operator = startOperator('op-e2e', ns, kek);
  gateway = await startProcess<{ url: string }>(
    'gateway',
    [
      'gateway/src/main.ts',
      '--kubeconfig',
      requireStack().kubeconfig,
      '--brokers',
      requireStack().kafka.brokers.join(','),
      ...kekArgs(kek, 'gateway'),
      '--opt-out-key-file',
      optOutKeyFile,
      '--port',
      '0',
      '--identity',
      gatewayIdentity(),
    ],
    { cwd: repoRoot, logFile: join(kek.dir, 'gateway.log'), env: kafkaEnv('gateway') },
  );
  senderToken = await serviceAccountToken(kc, ns, 'sender', { role: 'anshim-sender' });
  optOutToken = await serviceAccountToken(kc, ns, 'optout-line', { role: 'anshim-optout-recorder', clusterWide: true });
  runner = startLocalRunner(ns, kek);
});

after(async () => {
  await deleteCampaigns(ns).catch((err: Error) => console.error(err.message));
  await runner.stop();
  if (gateway) await stopProcess(gateway);
  operator.child.kill('SIGTERM');
  await operator.exited;
  await carriers.stop();
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

test(
  'kubectl apply → workers run as local processes, send every message exactly once, complete, and the data is shredded',
  { timeout: 240_000 },
  async () => {
    const name = 'weekend';
    const campaignId = `${ns}.${name}`;
    applyExampleCampaign(ns, name, {
      audience: { datasetRef: { name: 'members' }, size: RECIPIENTS },
      rateLimit: { messagesPerSecond: 1000 },
      retentionAfterCompletion: '3s',
    });
    const keys = new KubernetesKeyStore(kc, [kek.provider]);
    const [key] = await eventually('the campaign key', async () => keys.open(campaignId));
    await eventually('Provisioning', async () =>
      (await campaignReader(kc, ns)(name)).status?.phase === 'Provisioning' ? true : undefined,
    );
    // Staff upload the spreadsheet at the gateway (csv, Korean headers); night consent too, so the
    // run does not wait for 08:00 KST whenever CI runs. The canary is one of the rows.
    const rows = [...fakeRecipients(RECIPIENTS - 1)].map((r) => `${r.name},${r.phone},강남점,Y,Y`);
    rows.push(`${CANARY.name},${CANARY.dashed},강남점,Y,Y`);
    const csv = Buffer.from(['이름,휴대폰번호,매장,광고수신동의,야간수신동의', ...rows].join('\n'));
    const upload = await fetch(
      `${gateway!.ready.url}/v1/campaigns/${campaignId}/uploads?purpose=advertising&format=csv`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${senderToken}` },
        body: csv,
      },
    );
    const answer = (await upload.json()) as { counts: { accepted: number } };
    assert.equal(upload.status, 200, JSON.stringify(answer));
    assert.equal(answer.counts.accepted, RECIPIENTS);

    // The 080 provider records a (synthetic) opt-out; the sender tries a single message on this
    // advertising campaign, which is refused (its caller cannot assert consent). Both audited.
    const gatewayPost = (path: string, token: string, body: unknown) =>
      fetch(`${gateway!.ready.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const optOut = await gatewayPost('/v1/optouts', optOutToken, {
      optOutNumber: '080-500-5000',
      phone: '010-2999-0001',
    });
    assert.equal(optOut.status, 202, await optOut.text());
    const message = await gatewayPost(`/v1/campaigns/${campaignId}/messages`, senderToken, {
      purpose: 'advertising',
      recipient: { phone: '010-2999-0002', consent: { advertising: true } },
    });
    assert.equal(message.status, 403);
    assert.equal(((await message.json()) as { error: { code: string } }).error.code, 'messages-not-accepted');
    const gatewayChain = await KafkaAuditStore.connect(kafka);
    const entries = await gatewayChain.readChain(`gateway-${gatewayIdentity()}`);
    await gatewayChain.close();
    const who = entries.map((e) => `${e.action} ${e.actor} ${e.subject} ${e.details.outcome}`);
    console.log(`gateway audit chain:\n  ${who.join('\n  ')}`);
    assert.deepEqual(who, [
      `upload system:serviceaccount:${ns}:sender ${campaignId} completed`,
      `opt-out system:serviceaccount:${ns}:optout-line 080-500-5000 completed`,
      `message system:serviceaccount:${ns}:sender ${campaignId} failed`,
    ]);
    // Not a search for a bare '2999': the chain's hashes, ids and timestamps may hold that run by chance.
    assert.equal(findPhoneLike(entries), undefined, 'no number in the chain');
    // What a backup of the topic would hold: sealed records that must stay unreadable after shredding.
    const topic = `anshim.campaign.${campaignId}.bulk`;
    const samples = await readSamples(topic, 5);
    // A copy an attacker could keep: the topic's segment files, copied aside while the campaign runs.
    const copied = copySegments(requireStack().kafka.dataDir, topic, join(kek.dir, 'segment-copy'));
    assert.ok(
      samples.every((sample) => copied.some((segment) => segment.includes(sample))),
      'the copied segments hold the sealed records',
    );
    // And etcd's copies of the wrapped data key: every key holding the data key id or a wrapped key.
    const live = await etcdCopies(campaignId, key!.id);
    const nsKek = await kc
      .makeApiClient(k8sApi.CoreV1Api)
      .readNamespacedSecret({ namespace: ns, name: NAMESPACE_KEK_SECRET });
    const openers = keyHolders(Buffer.from(nsKek.data!.token!, 'base64').toString());
    // The control: while the campaign lives, this recovery opens its data key (and with it the copied records).
    const liveRecovered = await recoverKeys(live.ciphertexts, campaignId, openers);
    assert.ok(
      liveRecovered.some((k) => k.material.equals(key!.material)),
      `etcd's copies open with the KMS while the key lives (${live.ciphertexts.length} found in ${live.keys.join(', ')})`,
    );

    const read = campaignReader(kc, ns);
    const get = () => read(name);
    const completed = await eventually(
      'Completed',
      async () => {
        const mc = await get();
        return mc.status?.completionTime ? mc : undefined;
      },
      180_000,
    );
    const counts = completed.status!.counts!;
    assert.equal(counts.queued, RECIPIENTS);
    assert.equal(counts.delivered + counts.failed, RECIPIENTS, JSON.stringify(counts));
    assert.ok(counts.delivered > RECIPIENTS * 0.9, `most delivered: ${JSON.stringify(counts)}`);
    assert.ok(counts.fellBack > 0, 'some recipients are not Kakao users and fell back to SMS/LMS');
    // Asked of the runner's history, not sampled while polling: a fast campaign may finish between two looks.
    assert.ok((runner.podsEverReady()[`${ns}/anshim-worker-${name}`] ?? 0) >= 1, 'worker processes ran');
    assert.equal(carriers.accepted(campaignId), RECIPIENTS, 'every message accepted by a carrier');
    assert.equal(carriers.reaccepted(campaignId), 0, 'none twice');

    const destroyed = await eventually(
      'Destroyed',
      async () => {
        const mc = await get();
        return mc.status?.phase === 'Destroyed' ? mc : undefined;
      },
      60_000,
    );

    // The auditor's path: the signed certificate verifies with the operator's public key (CLI,
    // exit 0), cites the audit chain, and the shredded key opens none of the surviving records.
    const certificateFile = join(kek.dir, 'certificates', `${campaignId}.certificate.json`);
    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'compliance/src/cli.ts',
        'verify-certificate',
        certificateFile,
        '--public-key',
        join(kek.dir, 'signing', 'key.pub.pem'),
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    const signed = JSON.parse(readFileSync(certificateFile, 'utf8')) as SignedDestructionCertificate;
    assert.equal(signed.certificate.campaign, campaignId);
    assert.deepEqual(signed.certificate.keyIdsDestroyed, [key!.id]);
    assert.equal(signed.certificate.counts.delivered, counts.delivered);
    assert.ok(signed.certificate.auditHeads[0]!.seq > 0, 'cites a non-empty audit chain');
    assert.equal(destroyed.status?.destructionCertificateRef?.name, `anshim-destruction-${name}`);
    const proof = await proveShredded({
      certificate: signed.certificate,
      store: keys,
      samples: samples.map(shredSampleFromCampaignRecord),
    });
    assert.equal(proof.holds, true, JSON.stringify(proof.problems));
    const c = signed.certificate;
    assert.equal(c.kmsDestructions.length, 1);
    assert.equal(c.kmsDestructions[0]!.keyName, `campaign.${campaignId}`);
    assert.match(c.kmsDestructions[0]!.answer, /DELETE .* → 204; GET .* → 404/);
    const kmsAt = Date.parse(c.kmsDestructions[0]!.destroyedAt);
    console.log(
      `completion → KMS destruction: ${(kmsAt - Date.parse(c.completedAt)) / 1000}s → certificate: ${(Date.parse(c.issuedAt) - kmsAt) / 1000}s (completion → certificate ${(Date.parse(c.issuedAt) - Date.parse(c.completedAt)) / 1000}s)`,
    );

    // Every revision etcd still holds of those keys (the worker Secret is deleted by now: walked
    // from the revision seen live), tried with every key the platform holds and with the KMS as
    // root: nothing opens, so the copied segments' records stay sealed.
    const history = await etcdHistoryCopies([...live.keys], live.revision);
    assert.ok(history.revisions >= live.keys.length + 1, 'the tombstone and the earlier revisions');
    for (const ciphertext of live.ciphertexts) assert.ok(history.ciphertexts.includes(ciphertext));
    const recovered = await recoverKeys(history.ciphertexts, campaignId, openers);
    console.log(
      `etcd after shredding: ${history.revisions} revisions of ${live.keys.length} keys, ${history.ciphertexts.length} wrapped data keys; opened by root, the gateway, the namespace token or the local KEK: ${recovered.length}`,
    );
    assert.deepEqual(recovered, []);
    const fromSegments = samples.map(shredSampleFromCampaignRecord);
    assert.equal((await proveShredded({ certificate: c, store: keys, samples: fromSegments })).holds, true);

    // The auditor's CLI, against the running KMS and etcd, with the auditor's token.
    const shredded = spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', 'compliance/src/cli.ts', 'verify-shredded', certificateFile],
        ...['--public-key', join(kek.dir, 'signing', 'key.pub.pem'), '--kms-address', requireStack().kms.address],
        ...['--kms-token-file', requireStack().kms.tokens.auditor, '--etcd', requireStack().etcd.endpoint],
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    console.log(shredded.stdout.trim());
    assert.equal(shredded.status, 0, shredded.stdout + shredded.stderr);
    await eventually('the worker processes gone', async () =>
      runner.snapshot().every((s) => s.pods === 0) ? true : undefined,
    );

    // Every opening of a sealed recipient is in the workers' audit chains, as counts.
    const auditStore = await KafkaAuditStore.connect(kafka);
    let opened = 0;
    let failedToOpen = 0;
    for (const log of readdirSync(runner.logDir())) {
      for (const e of await auditStore.readChain(`worker.${log.replace(/\.log$/, '')}`)) {
        if (e.action !== 'decrypt-batch' || e.subject !== campaignId) continue;
        opened += Number(e.details.opened);
        failedToOpen += Number(e.details.failed);
      }
    }
    await auditStore.close();
    assert.ok(opened >= RECIPIENTS, `decrypt-batch entries count ${opened} openings`);
    assert.equal(failedToOpen, 0);

    // Privacy: the canary never reached Kafka's disk, etcd's disk, or any process log.
    const needles = [CANARY.phone, CANARY.dashed, CANARY.name].map((s) => Buffer.from(s));
    const stack = requireStack();
    const hits = [
      ...scanFiles(stack.kafka.dataDir, needles),
      ...scanFiles(stack.etcd!.dataDir, needles),
      ...scanFiles(stack.kms.dataDir, needles),
      ...scanFiles(runner.logDir(), needles),
      ...scanFiles(kek.dir, needles), // operator and gateway logs, certificates
    ];
    assert.deepEqual(hits, []);
  },
);

test(
  'one gateway outlives its campaigns: three more shredded (topics deleted), and a fifth still uploads',
  { timeout: 240_000 },
  async () => {
    const SIZE = 20;
    const read = campaignReader(kc, ns);
    const apply = (name: string) =>
      applyExampleCampaign(ns, name, {
        audience: { datasetRef: { name: `members-${name}` }, size: SIZE },
        retentionAfterCompletion: '1s',
      });
    const upload = async (name: string) => {
      const rows = [...fakeRecipients(SIZE)].map((r) => `${r.name},${r.phone},강남점,Y,Y`);
      const csv = Buffer.from(['이름,휴대폰번호,매장,광고수신동의,야간수신동의', ...rows].join('\n'));
      await eventually(`${name} Provisioning`, async () =>
        (await read(name)).status?.phase === 'Provisioning' ? true : undefined,
      );
      const res = await fetch(`${gateway!.ready.url}/v1/campaigns/${ns}.${name}/uploads?purpose=advertising`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${senderToken}` },
        body: csv,
      });
      return { status: res.status, body: (await res.json()) as { produced?: number; error?: { message: string } } };
    };
    // The first test's campaign is already destroyed; three more run side by side to destruction.
    const names = ['life-1', 'life-2', 'life-3'];
    names.forEach(apply);
    for (const name of names) {
      const { status, body } = await upload(name);
      assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
      assert.equal(body.produced, SIZE);
    }
    for (const name of names)
      await eventually(
        `${name} Destroyed`,
        async () => ((await read(name)).status?.phase === 'Destroyed' ? true : undefined),
        150_000,
      );
    // Four campaigns' topics are gone; the same gateway process takes a new campaign's list.
    apply('life-5');
    const { status, body } = await upload('life-5');
    assert.equal(status, 200, `after four shredded campaigns: ${JSON.stringify(body)}`);
    assert.equal(body.produced, SIZE);
    const done = await eventually(
      'life-5 delivered',
      async () => {
        const mc = await read('life-5');
        return mc.status?.completionTime ? mc : undefined;
      },
      150_000,
    );
    assert.equal(done.status!.counts!.delivered + done.status!.counts!.failed, SIZE);
    for (const name of [...names, 'life-5'])
      assert.equal(carriers.reaccepted(`${ns}.${name}`), 0, `${name}: none twice`);
  },
);
