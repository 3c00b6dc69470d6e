import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { binaries, cacheDir } from './paths.ts';
import { run } from './commands.ts';
import { freePort, isOurs, startDaemon, stopPid, waitUntil } from './processes.ts';
import type { KafkaState } from './state.ts';

const MAIN_CLASS = 'kafka.Kafka';

function serverProperties(port: number, controllerPort: number, dataDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
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

export async function kafkaHealthy(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'anshim-stack-health',
    brokers,
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
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(configFile, serverProperties(port, controllerPort, dataDir));
  writeFileSync(join(dir, 'log4j.properties'), LOG4J);
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url').slice(0, 22);
    await run('java', javaArgs(dir, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', configFile]), {
      logFile: join(cacheDir(), 'logs', 'kafka-format.log'),
      what: 'Kafka storage format',
    });
  }
  const pid = startDaemon({ name: 'kafka', command: 'java', args: javaArgs(dir, MAIN_CLASS, [configFile]), logFile });
  const brokers = [`127.0.0.1:${port}`];
  await waitUntil('Kafka', () => kafkaHealthy(brokers), { timeoutMs: 90_000, pid, logFile });
  return { pid, logFile, brokers, port, controllerPort, dataDir, configFile };
}

export async function stopKafka(state: KafkaState): Promise<void> {
  await stopPid(state.pid, state.configFile, 30_000);
}

export const kafkaRunning = (state: KafkaState): boolean => isOurs(state.pid, state.configFile);
