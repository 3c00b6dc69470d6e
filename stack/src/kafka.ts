import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { applyGrants, COMPONENTS } from '@anshim/kafka';
import { binaries, cacheDir } from './paths.ts';
import { run } from './commands.ts';
import { freePort, isOurs, startDaemon, stopPid, waitUntil } from './processes.ts';
import type { KafkaPrincipal, KafkaState, KafkaUsers } from './state.ts';

const MAIN_CLASS = 'kafka.Kafka';
const MECHANISM = 'SCRAM-SHA-512';
/** Who the stack's Kafka knows: a super user for tests and tools, and one user per component. */
const PRINCIPALS: readonly KafkaPrincipal[] = ['admin', 'operator', 'gateway', 'worker'];
/** The broker's own user (inter-broker) and the controller listener's (PLAIN: SCRAM users live in the metadata log the controller serves). */
const BROKER_USER = 'anshim-broker';
const CONTROLLER_USER = 'anshim-controller';

interface Secrets {
  users: KafkaUsers;
  broker: string;
  controller: string;
}

/** Passwords, one file each (0600) under the stack's kafka directory; made once, kept across restarts. */
function ensureSecrets(dir: string): Secrets {
  const usersDir = join(dir, 'users');
  mkdirSync(usersDir, { recursive: true, mode: 0o700 });
  const password = (name: string): string => {
    const file = join(usersDir, name);
    if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
    return file;
  };
  const users = Object.fromEntries(
    PRINCIPALS.map((p) => [p, { username: `anshim-${p}`, passwordFile: password(`anshim-${p}`) }]),
  ) as KafkaUsers;
  return { users, broker: password(BROKER_USER), controller: password(CONTROLLER_USER) };
}

const secretOf = (file: string): string => readFileSync(file, 'utf8').trim();

function serverProperties(port: number, controllerPort: number, dataDir: string, secrets: Secrets): string {
  const controllerPassword = secretOf(secrets.controller);
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=CLIENT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=CLIENT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=CLIENT',
    // Every connection authenticates: SCRAM for clients and the broker itself, PLAIN on the
    // controller listener (only the broker, in this one process, connects there).
    'listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
    `sasl.enabled.mechanisms=${MECHANISM}`,
    `sasl.mechanism.inter.broker.protocol=${MECHANISM}`,
    `listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${BROKER_USER}" password="${secretOf(secrets.broker)}";`,
    'sasl.mechanism.controller.protocol=PLAIN',
    'listener.name.controller.sasl.enabled.mechanisms=PLAIN',
    `listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${CONTROLLER_USER}" password="${controllerPassword}" user_${CONTROLLER_USER}="${controllerPassword}";`,
    // Nobody may do what no ACL grants (the grants are @anshim/kafka's table, applied at start).
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found=false',
    `super.users=User:${BROKER_USER};User:${CONTROLLER_USER};User:${secrets.users.admin.username}`,
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // One broker: a consumer group should not wait 3 s for members that will never come.
    'group.initial.rebalance.delay.ms=0',
    // Topics are created by the operator with explicit partitions and configs.
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'log.segment.delete.delay.ms=1000',
    'file.delete.delay.ms=1000',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka=INFO',
  'log4j.logger.org.apache.kafka=INFO',
  'log4j.logger.state.change.logger=WARN',
  'log4j.logger.kafka.request.logger=WARN',
].join('\n');

function javaArgs(dir: string, main: string, rest: string[]): string[] {
  return [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    '-cp',
    `${binaries.kafkaLibs()}/*`,
    main,
    ...rest,
  ];
}

/** The kafkajs SASL option for one of the stack's users. */
export const stackSasl = (users: KafkaUsers, principal: KafkaPrincipal) => ({
  mechanism: 'scram-sha-512' as const,
  username: users[principal].username,
  password: secretOf(users[principal].passwordFile),
});

export async function kafkaHealthy(brokers: string[], users: KafkaUsers | undefined): Promise<boolean> {
  if (!users) return false; // a broker from before the stack authenticated: restart it
  const admin = new Kafka({
    clientId: 'anshim-stack-health',
    brokers,
    sasl: stackSasl(users, 'admin'),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Starts (or restarts, on the same ports and data) a single KRaft broker+controller. */
export async function startKafka(stateDir: string, previous?: KafkaState): Promise<KafkaState> {
  const dir = join(stateDir, 'kafka');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'server.properties');
  const logFile = join(dir, 'kafka.log');
  const port = previous?.port ?? (await freePort());
  const controllerPort = previous?.controllerPort ?? (await freePort());
  const secrets = ensureSecrets(dir);
  // Data formatted before the stack authenticated has no SCRAM users: start it afresh.
  if (!previous?.users && existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(configFile, serverProperties(port, controllerPort, dataDir, secrets), { mode: 0o600 });
  writeFileSync(join(dir, 'log4j.properties'), LOG4J);
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url').slice(0, 22);
    // SCRAM users are records in the metadata log: KRaft takes the first ones at format time.
    const scram = [
      ...Object.values(secrets.users).map((u) => ({ name: u.username, file: u.passwordFile })),
      { name: BROKER_USER, file: secrets.broker },
    ].flatMap((u) => ['--add-scram', `${MECHANISM}=[name=${u.name},password=${secretOf(u.file)}]`]);
    await run(
      'java',
      javaArgs(dir, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', configFile, ...scram]),
      {
        logFile: join(cacheDir(), 'logs', 'kafka-format.log'),
        what: 'Kafka storage format',
      },
    );
  }
  const pid = startDaemon({ name: 'kafka', command: 'java', args: javaArgs(dir, MAIN_CLASS, [configFile]), logFile });
  const brokers = [`127.0.0.1:${port}`];
  await waitUntil('Kafka', () => kafkaHealthy(brokers, secrets.users), { timeoutMs: 90_000, pid, logFile });
  return { pid, logFile, brokers, port, controllerPort, dataDir, configFile, users: secrets.users };
}

/** Each component's user gets its grants (@anshim/kafka's table), as a cluster's administrators would apply them. */
export async function grantComponents(brokers: string[], users: KafkaUsers): Promise<void> {
  const admin = new Kafka({
    clientId: 'anshim-stack-acls',
    brokers,
    sasl: stackSasl(users, 'admin'),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const names = Object.fromEntries(COMPONENTS.map((c) => [c, users[c].username]));
    await applyGrants(admin, names as Record<(typeof COMPONENTS)[number], string>);
  } finally {
    await admin.disconnect();
  }
}

export async function stopKafka(state: KafkaState): Promise<void> {
  await stopPid(state.pid, state.configFile, 30_000);
}

export const kafkaRunning = (state: KafkaState): boolean => isOurs(state.pid, state.configFile);
