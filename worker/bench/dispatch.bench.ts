// npm run bench:dispatch [-- --records N --threads T --rate R]
// Pushes sealed campaign records through the real Kafka, a worker process (piscina pool) and
// carrier simulator processes over mutual TLS, and prints end-to-end throughput, produce-to-ack
// latency, worker memory and the CPU split between the processes. Figures, not assertions.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { aeadEngine, generateDataKey, sealCampaignRecord } from '@anshim/core';
import {
  repoRoot,
  requireStack,
  up,
  createCampaignTopic,
  fakeRecipients,
  stackKafka,
  textCampaign,
  withAdmin,
} from '@anshim/dev-platform';
import { campaignTopic, CAMPAIGN_HEADER } from '@anshim/api';
import type { WorkerFile } from '../src/config-file.ts';
import {
  benchWorkerFile,
  MNOS,
  firstLine,
  ledgerAccepted,
  runBench,
  sample,
  startBenchCarriers,
  startBenchProcess,
} from './harness.ts';
import { buildWorkerBundle, WORKER_BUNDLE_MAIN, WORKER_COMMAND } from '../src/bundle.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    // The worker's own default: the cores less one for the event loop (pool.ts).
    threads: { type: 'string', default: String(Math.max(1, availableParallelism() - 1)) },
    partitions: { type: 'string', default: '12' },
    rate: { type: 'string', default: '0' },
    // preload: all records are in Kafka before the worker starts (measures the pipeline's drain rate);
    // live: the worker runs while the bench produces (produce-to-ack latency under load).
    mode: { type: 'string', default: 'preload' },
    // --reports=off: the worker does not follow carriers' delivery reports (isolates their cost).
    reports: { type: 'string', default: 'on' },
    // --bundle=off: the worker runs worker/src/main.ts through tsx, as in tests, instead of the
    // bundle its image runs (worker/src/bundle.ts).
    bundle: { type: 'string', default: 'on' },
    // Node flags for the worker, instead of its pod's (e.g. --worker-flags=--max-semi-space-size=16).
    'worker-flags': { type: 'string' },
  },
});
const bundle = args.bundle !== 'off';
const workerFlags = args['worker-flags']?.split(/\s+/).filter(Boolean) ?? WORKER_COMMAND.slice(1, -1);
const TOTAL = Number(args.records);

const startProcess = (name: string, script: string, argv: string[], env: NodeJS.ProcessEnv, logDir: string) =>
  startBenchProcess({ bundle, workerFlags }, name, script, argv, env, logDir);

async function main(): Promise<void> {
  await up((line) => console.log(`[stack] ${line}`));
  const stack = requireStack();
  const work = mkdtempSync(join(tmpdir(), 'anshim-bench-'));
  const resultsDir = join(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const children: ChildProcess[] = [];
  // The campaign topic holds the whole run (250 MB per million records): dropped afterwards,
  // so runs do not pile up in the dev stack's Kafka and slow the next one.
  let cleanup = async (): Promise<void> => undefined;
  try {
    const carriers = await startBenchCarriers(
      work,
      { deliveryDelayMs: 50, failureRates: { HANDSET_OFF: 0.01, NO_SUCH_NUMBER: 0.002 } },
      (name, script, argv, env) => {
        const child = startProcess(name, script, argv, env, work);
        children.push(child);
        return child;
      },
    );
    const sim = carriers.child;

    const spec = textCampaign(`bench-${Date.now()}`, { processors: [...MNOS] });
    const dataKey = generateDataKey(spec.id);
    const topic = campaignTopic(spec.id);
    const kafka = stackKafka('bench');
    await createCampaignTopic(kafka, topic, Number(args.partitions));
    cleanup = () => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));

    const workerFile: WorkerFile = {
      ...(await benchWorkerFile(work, carriers, spec, dataKey, topic)),
      poolThreads: Number(args.threads),
      partitionsConsumedConcurrently: Number(args.partitions),
      chunkSize: 500,
      followReports: args.reports !== 'off',
    };
    const startWorker = async () => {
      writeFileSync(join(work, 'worker.json'), JSON.stringify(workerFile), { mode: 0o600 });
      // As the worker image runs it: main.mjs and the pool's task.cjs (see bundle.ts).
      if (bundle) await buildWorkerBundle(dirname(join(repoRoot, WORKER_BUNDLE_MAIN)));
      const worker = startProcess(
        'worker',
        'worker/src/main.ts',
        [],
        {
          ANSHIM_WORKER_CONFIG: join(work, 'worker.json'),
          ANSHIM_WORKER_ID: 'bench-worker',
        },
        work,
      );
      children.push(worker);
      await firstLine(worker);
      let workerStats = '';
      worker.stdout!.on('data', (d: Buffer) => (workerStats += d.toString()));

      const pids: Record<string, number> = { worker: worker.pid!, simulators: sim.pid!, kafka: stack.kafka.pid };
      if (live) pids['bench (producer)'] = process.pid;
      const startCpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, sample(pid)?.cpuSeconds ?? 0]));
      let maxWorkerRss = 0;
      const sampler = setInterval(() => (maxWorkerRss = Math.max(maxWorkerRss, sample(worker.pid!)?.rssMb ?? 0)), 250);
      return {
        worker,
        pids,
        startCpu,
        getStats: () => workerStats,
        stopSampler: () => clearInterval(sampler),
        maxRss: () => maxWorkerRss,
      };
    };
    const live = args.mode === 'live';
    let run = live ? await startWorker() : undefined;
    console.log(
      `[bench] producing ${TOTAL.toLocaleString()} sealed records to ${topic} (${args.partitions} partitions)`,
    );
    const t0 = Date.now();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const rate = Number(args.rate);
    const batch = 2000;
    let produced = 0;
    const recipients = fakeRecipients(TOTAL);
    const inflight: Promise<unknown>[] = [];
    while (produced < TOTAL) {
      const messages = [];
      for (let i = 0; i < batch && produced < TOTAL; i++, produced++) {
        const r = recipients.next().value!;
        const recordId = `r${produced}`;
        messages.push({
          key: recordId,
          value: Buffer.from(sealCampaignRecord(dataKey, spec.id, recordId, r)),
          headers: { [CAMPAIGN_HEADER]: spec.id },
        });
      }
      inflight.push(producer.send({ topic, messages, acks: 1 }));
      if (inflight.length >= 8) await inflight.shift();
      if (rate > 0) {
        const due = t0 + (produced / rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
    await Promise.all(inflight);
    const producedMs = Date.now() - t0;
    await producer.disconnect();
    console.log(
      `[bench] produced in ${(producedMs / 1000).toFixed(1)} s (${Math.round(TOTAL / (producedMs / 1000)).toLocaleString()} records/s)`,
    );

    const drainStart = Date.now();
    run ??= await startWorker();
    const { worker, pids, startCpu } = run;
    let accepted = 0;
    let lastReport = Date.now();
    while (accepted < TOTAL) {
      await sleep(200);
      accepted = await ledgerAccepted(carriers.adminPort);
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        console.log(`[bench] ${accepted.toLocaleString()} / ${TOTAL.toLocaleString()} accepted by carriers`);
      }
      if (worker.exitCode !== null) throw new Error('the worker exited during the run');
    }
    const elapsedMs = Date.now() - (live ? t0 : drainStart);
    run.stopSampler();
    const maxWorkerRss = run.maxRss();
    const cpu = Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, (sample(pid)?.cpuSeconds ?? 0) - (startCpu[k] ?? 0)]),
    );
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
    const workerStats = run.getStats();
    const stats = JSON.parse(workerStats.split('\n').find((l) => l.includes('"stopped":true')) ?? '{}') as {
      ackLatencyMs?: { p50: number; p99: number; max: number };
    };
    const totalCpu = Object.values(cpu).reduce((a, b) => a + b, 0);
    const result = {
      records: TOTAL,
      poolThreads: Number(args.threads),
      partitions: Number(args.partitions),
      mode: args.mode,
      offeredRate: rate || 'unlimited',
      endToEndMsgPerSec: Math.round(TOTAL / (elapsedMs / 1000)),
      elapsedSec: +(elapsedMs / 1000).toFixed(1),
      produceRecordsPerSec: Math.round(TOTAL / (producedMs / 1000)),
      ackLatencyMs: stats.ackLatencyMs,
      workerMaxRssMb: Math.round(maxWorkerRss),
      cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, +v.toFixed(1)])),
      cpuShare: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, `${Math.round((v / totalCpu) * 100)}%`])),
      aead: aeadEngine,
      workerFlags: workerFlags.join(' '),
      bundle,
      machine: '2 cores',
    };
    console.log(`
dispatch benchmark: ${TOTAL.toLocaleString()} messages, both hops AES-256-GCM (${aeadEngine} engine), carrier links mTLS
  end-to-end          ${result.endToEndMsgPerSec.toLocaleString()} msg/s (${result.elapsedSec} s from ${live ? 'first produce' : 'worker start, records preloaded'} to last carrier ack)
  produce             ${result.produceRecordsPerSec.toLocaleString()} records/s (seal + Kafka, in the bench process)
  produce→ack latency p50 ${stats.ackLatencyMs?.p50.toFixed(0)} ms, p99 ${stats.ackLatencyMs?.p99.toFixed(0)} ms, max ${stats.ackLatencyMs?.max.toFixed(0)} ms
  worker RSS (max)    ${result.workerMaxRssMb} MB (pool threads: ${result.poolThreads}; ${workerFlags.join(' ')})
  CPU seconds         ${Object.entries(result.cpuSeconds)
    .map(([k, v]) => `${k} ${v} s (${result.cpuShare[k]})`)
    .join(', ')}`);
    const file = join(resultsDir, `dispatch-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(`  written to ${file}`);
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await sleep(500);
    rmSync(work, { recursive: true, force: true });
    await cleanup().catch((err: Error) => console.error(`[bench] could not delete the campaign topic: ${err.message}`));
  }
}

runBench(main);
