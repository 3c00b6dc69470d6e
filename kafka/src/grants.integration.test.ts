// Against the local stack's real Kafka (SASL/SCRAM, StandardAuthorizer, the grants of grants.ts
// applied at `stack up`): who may do what, each refusal as the broker answers it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { createCampaignTopic, kafkaAccess, requireStack, stackKafka, type KafkaPrincipal } from '@anshim/dev-platform';
import { campaignTopic, TOPICS } from '@anshim/api';
import kafkajs from 'kafkajs';
import { aclsFor, applyGrants, COMPONENTS, type Component } from './grants.ts';

const run = `${process.pid}-${Date.now().toString(36)}`;
const topic = campaignTopic(`grants.${run}`);
// Fail fast: an authorization error is not retriable, a refused connection would be retried for long.
const quick: Omit<KafkaConfig, 'brokers'> = {
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 300 },
};
const as = (principal: KafkaPrincipal): Kafka =>
  new Kafka({ clientId: `grants-${principal}`, ...kafkaAccess(principal), ...quick });
const anonymous = (): Kafka =>
  new Kafka({ clientId: 'grants-anonymous', brokers: requireStack().kafka.brokers, ...quick });
const wrongPassword = (): Kafka =>
  new Kafka({
    clientId: 'grants-wrong-password',
    brokers: requireStack().kafka.brokers,
    sasl: { mechanism: 'scram-sha-512', username: 'anshim-gateway', password: 'not-the-password' },
    ...quick,
  });

let admin: Admin;
before(async () => {
  admin = stackKafka('grants-admin').admin();
  await admin.connect();
  await createCampaignTopic(stackKafka('grants-setup'), topic, 1);
  // Something to read: a refused read is refused for the grant, not for an empty topic.
  await produce(stackKafka('grants-setup'), topic);
  await produce(stackKafka('grants-setup'), TOPICS.optOuts);
});
after(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

async function produce(kafka: Kafka, to: string): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic: to, messages: [{ key: 'grants-test', value: 'x' }], acks: -1 });
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
async function deleteTopic(kafka: Kafka, name: string): Promise<void> {
  const a = kafka.admin();
  try {
    await a.connect();
    await a.deleteTopics({ topics: [name], timeout: 5000 });
  } finally {
    await a.disconnect().catch(() => undefined);
  }
}
/** Reads one record of `from` as a consumer of `groupId` does (the topic holds one from set-up). */
async function readFrom(kafka: Kafka, from: string, groupId: string): Promise<void> {
  // Retries for a fresh broker's group coordinator, which answers NOT_COORDINATOR while it loads;
  // an authorization error is not retriable and ends the read at once. No restart after a crash.
  const consumer = kafka.consumer({
    groupId,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000, restartOnFailure: async () => false },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [from], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      consumer.run({ eachMessage: async () => resolve() }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Runs `attempt`, expects it refused, prints the refusal as the broker (or kafkajs) words it. */
async function refused(what: string, attempt: () => Promise<unknown>, expected: RegExp): Promise<void> {
  const err = await attempt().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.ok(err, `${what}: was allowed`);
  // kafkajs wraps the broker's answer: its causes (retries) and, for admin batches, its errors.
  const causes: string[] = [];
  const walk = (e: unknown): void => {
    if (!(e instanceof Error)) return;
    const x = e as Error & { cause?: unknown; originalError?: unknown; errors?: unknown[] };
    causes.push(`${e.name}: ${e.message}`);
    for (const inner of x.errors ?? []) walk(inner);
    walk(x.cause ?? x.originalError);
  };
  walk(err);
  const text = causes.join(' ← ');
  console.log(`refused  ${what}: ${text}`);
  assert.match(text, expected, what);
}

describe('Kafka grants', { timeout: 120_000 }, () => {
  test('a client without credentials, or with a wrong password, gets nothing', async () => {
    const noAuth = /Connection|closed|timeout|ECONNRESET|disconnected|SASL/i;
    await refused(`no credentials: produce to ${TOPICS.optOuts}`, () => produce(anonymous(), TOPICS.optOuts), noAuth);
    await refused(`no credentials: produce to ${TOPICS.progress}`, () => produce(anonymous(), TOPICS.progress), noAuth);
    await refused(`no credentials: produce to ${topic}`, () => produce(anonymous(), topic), noAuth);
    await refused(`no credentials: delete ${topic}`, () => deleteTopic(anonymous(), topic), noAuth);
    await refused(
      `wrong password: produce to ${topic}`,
      () => produce(wrongPassword(), topic),
      /SASL SCRAM SHA512 authentication failed|Authentication failed/i,
    );
    assert.ok((await admin.listTopics()).includes(topic), 'the topic is still there');
  });

  test('the gateway writes campaign topics and opt-outs, reads neither, and deletes nothing', async () => {
    await produce(as('gateway'), topic);
    await produce(as('gateway'), TOPICS.optOuts);
    const denied = /TOPIC_AUTHORIZATION_FAILED|not authorized|GROUP_AUTHORIZATION_FAILED/i;
    await refused(`gateway: produce to ${TOPICS.progress}`, () => produce(as('gateway'), TOPICS.progress), denied);
    await refused(`gateway: produce to ${TOPICS.reports}`, () => produce(as('gateway'), TOPICS.reports), denied);
    await refused(
      `gateway: read ${TOPICS.optOuts}`,
      () => readFrom(as('gateway'), TOPICS.optOuts, `anshim-audit-reader-${run}`),
      denied,
    );
    await refused(`gateway: read ${topic}`, () => readFrom(as('gateway'), topic, `anshim-audit-reader-${run}`), denied);
    await refused(`gateway: delete ${topic}`, () => deleteTopic(as('gateway'), topic), denied);
  });

  test('a worker reads its topics and writes reports and progress, but not opt-outs, and deletes nothing', async () => {
    await produce(as('worker'), TOPICS.reports);
    await produce(as('worker'), TOPICS.progress);
    await readFrom(as('worker'), topic, `anshim.worker.grants.${run}`);
    const denied = /TOPIC_AUTHORIZATION_FAILED|not authorized/i;
    await refused(`worker: produce to ${TOPICS.optOuts}`, () => produce(as('worker'), TOPICS.optOuts), denied);
    await refused(`worker: produce to ${topic}`, () => produce(as('worker'), topic), denied);
    await refused(`worker: delete ${topic}`, () => deleteTopic(as('worker'), topic), denied);
    await refused(
      'worker: create a topic',
      async () => {
        const a = as('worker').admin();
        await a.connect();
        try {
          await a.createTopics({ topics: [{ topic: `${topic}.more`, numPartitions: 1, replicationFactor: 1 }] });
        } finally {
          await a.disconnect();
        }
      },
      denied,
    );
  });

  test('only the operator creates and deletes topics; it writes no opt-out', async () => {
    const own = campaignTopic(`grants-op.${run}`);
    const a = as('operator').admin();
    await a.connect();
    try {
      assert.equal(
        await a.createTopics({
          topics: [{ topic: own, numPartitions: 1, replicationFactor: 1 }],
          waitForLeaders: true,
        }),
        true,
      );
      await a.deleteTopics({ topics: [own], timeout: 10_000 });
    } finally {
      await a.disconnect();
    }
    await refused(
      `operator: delete ${TOPICS.optOuts}`,
      () => deleteTopic(as('operator'), TOPICS.optOuts),
      /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
    );
    await refused(
      `operator: delete ${TOPICS.reports}`,
      () => deleteTopic(as('operator'), TOPICS.reports),
      /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
    );
    await refused(
      `operator: produce to ${TOPICS.optOuts}`,
      () => produce(as('operator'), TOPICS.optOuts),
      /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
    );
  });

  test('applying the table takes away a grant that is not in it, and keeps every one that is', async () => {
    const users = Object.fromEntries(COMPONENTS.map((c) => [c, requireStack().kafka.users![c].username])) as Record<
      Component,
      string
    >;
    const extra = {
      resourceType: kafkajs.AclResourceTypes.TOPIC,
      resourceName: TOPICS.optOuts,
      resourcePatternType: kafkajs.ResourcePatternTypes.LITERAL,
      principal: `User:${users.gateway}`,
      host: '*',
      operation: kafkajs.AclOperationTypes.READ,
      permissionType: kafkajs.AclPermissionTypes.ALLOW,
    };
    await admin.createAcls({ acl: [extra] });
    const gatewayAcls = async () =>
      (
        await admin.describeAcls({
          resourceType: kafkajs.AclResourceTypes.ANY,
          resourcePatternType: kafkajs.ResourcePatternTypes.ANY,
          principal: `User:${users.gateway}`,
          operation: kafkajs.AclOperationTypes.ANY,
          permissionType: kafkajs.AclPermissionTypes.ANY,
        })
      ).resources.flatMap((r) => r.acls.map((a) => `${r.resourceName}:${a.operation}`));
    assert.ok((await gatewayAcls()).includes(`${TOPICS.optOuts}:${kafkajs.AclOperationTypes.READ}`));
    await applyGrants(admin, users);
    const after = await gatewayAcls();
    assert.ok(!after.includes(`${TOPICS.optOuts}:${kafkajs.AclOperationTypes.READ}`), 'the stray read is gone');
    assert.deepEqual(
      after.sort(),
      aclsFor('gateway', `User:${users.gateway}`)
        .map((a) => `${a.resourceName}:${a.operation}`)
        .sort(),
    );
  });
});
