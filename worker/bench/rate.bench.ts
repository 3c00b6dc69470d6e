// npm run bench:rate [-- --rate R --seconds S --workers N --partitions P]
// Does spec.rateLimit.messagesPerSecond hold across a campaign's workers? Preloads more sealed
// records than the run can send, starts N worker processes in one consumer group against the
// carrier simulators (mTLS), and counts what the carriers accepted, second by second, over S
// seconds; then stops one worker and counts again while the rest take its partitions. Prints
// the achieved rate against the campaign's, the spread of 1-second windows and worker memory.
// Figures, not assertions.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateDataKey, sealCampaignRecord } from '@anshim/core';
import {
  repoRoot,
  up,
  createCampaignTopic,
  fakeRecipients,
  stackKafka,
  textCampaign,
  withAdmin,
} from '@anshim/dev-platform';
import { campaignTopic, CAMPAIGN_HEADER } from '@anshim/api';
import type { WorkerFile } from '../src/config-file.ts';
import { buildWorkerBundle, WORKER_BUNDLE_MAIN, WORKER_COMMAND } from '../src/bundle.ts';
import {
  benchWorkerFile,
  firstLine,
  ledgerAccepted,
  MNOS,
  runBench,
  sample,
  startBenchCarriers,
  startBenchProcess,
} from './harness.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '30' },
    workers: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '6' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const WORKERS = Number(args.workers);
const FAILOVER_SECONDS = Math.ceil(SECONDS / 2);
// Settling: the group's first assignment, and the rebalance after a worker leaves.
const SETTLE_MS = 3000;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Counts carrier acceptances once a second for `seconds`: the achieved rate and the 1-second windows. */
async function measure(adminPort: number, seconds: number, maxRss: () => number) {
  const start = await ledgerAccepted(adminPort);
  const t0 = Date.now();
  const windows: number[] = [];
  let last = start;
  for (let i = 1; i <= seconds; i++) {
    const due = t0 + i * 1000;
    await sleep(Math.max(0, due - Date.now()));
    const now = await ledgerAccepted(adminPort);
    windows.push(now - last);
    last = now;
  }
  const elapsed = (Date.now() - t0) / 1000;
  const achieved = (last - start) / elapsed;
  const sorted = [...windows].sort((a, b) => a - b);
  return {
    messages: last - start,
    seconds: +elapsed.toFixed(1),
    achievedPerSec: +achieved.toFixed(1),
    deviationPct: +(((achieved - RATE) / RATE) * 100).toFixed(1),
    windowPerSec: { p5: percentile(sorted, 5), p50: percentile(sorted, 50), p95: percentile(sorted, 95) },
    workerMaxRssMb: Math.round(maxRss()),
  };
}

async function main(): Promise<void> {
  await up((line) => console.log(`[stack] ${line}`));
  const work = mkdtempSync(join(tmpdir(), 'anshim-bench-rate-'));
  const resultsDir = join(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const children: ChildProcess[] = [];
  const start = (name: string, script: string, argv: string[], env: NodeJS.ProcessEnv) => {
    const child = startBenchProcess(
      { bundle: true, workerFlags: WORKER_COMMAND.slice(1, -1) },
      name,
      script,
      argv,
      env,
      work,
    );
    children.push(child);
    return child;
  };
  let cleanup = async (): Promise<void> => undefined;
  try {
    const carriers = await startBenchCarriers(work, { deliveryDelayMs: 20 }, start);
    // More records than the run sends: the workers never run dry, so the pace is the only bound.
    const total = Math.ceil(RATE * (SECONDS + FAILOVER_SECONDS + 20) * 1.5);
    const spec = textCampaign(`bench-rate-${Date.now()}`, { processors: [...MNOS], messagesPerSecond: RATE });
    const dataKey = generateDataKey(spec.id);
    const topic = campaignTopic(spec.id);
    const kafka = stackKafka('bench-rate');
    await createCampaignTopic(kafka, topic, Number(args.partitions));
    cleanup = () => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const recipients = fakeRecipients(total);
    for (let produced = 0; produced < total;) {
      const messages = [];
      for (let i = 0; i < 2000 && produced < total; i++, produced++) {
        const recordId = `r${produced}`;
        messages.push({
          key: recordId,
          value: Buffer.from(sealCampaignRecord(dataKey, spec.id, recordId, recipients.next().value!)),
          headers: { [CAMPAIGN_HEADER]: spec.id },
        });
      }
      await producer.send({ topic, messages, acks: 1 });
    }
    await producer.disconnect();
    console.log(`[bench] ${total.toLocaleString()} sealed records on ${topic} (${args.partitions} partitions)`);

    const workerFile: WorkerFile = {
      ...(await benchWorkerFile(work, carriers, spec, dataKey, topic)),
      poolThreads: 1,
      followReports: false,
    };
    writeFileSync(join(work, 'worker.json'), JSON.stringify(workerFile), { mode: 0o600 });
    await buildWorkerBundle(dirname(join(repoRoot, WORKER_BUNDLE_MAIN)));
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, async (_, i) => {
        const w = start(`worker-${i + 1}`, 'worker/src/main.ts', [], {
          ANSHIM_WORKER_CONFIG: join(work, 'worker.json'),
          ANSHIM_WORKER_ID: `bench-rate-${i + 1}`,
        });
        await firstLine(w);
        return w;
      }),
    );
    let maxRss = 0;
    const sampler = setInterval(() => {
      for (const w of workers) if (w.exitCode === null) maxRss = Math.max(maxRss, sample(w.pid!)?.rssMb ?? 0);
    }, 250);
    while ((await ledgerAccepted(carriers.adminPort)) === 0) await sleep(100);
    await sleep(SETTLE_MS);
    console.log(`[bench] ${WORKERS} workers sending; counting carrier acceptances for ${SECONDS} s`);
    const fleet = await measure(carriers.adminPort, SECONDS, () => maxRss);

    // One worker leaves (SIGTERM: it finishes its batch and leaves the group); the rest re-divide the rate.
    const leaving = workers[workers.length - 1]!;
    const left = new Promise((r) => leaving.once('exit', r));
    leaving.kill('SIGTERM');
    await left;
    await sleep(SETTLE_MS);
    console.log(`[bench] one worker stopped; counting for ${FAILOVER_SECONDS} s`);
    const afterLeave = await measure(carriers.adminPort, FAILOVER_SECONDS, () => maxRss);
    clearInterval(sampler);

    const result = { campaignRate: RATE, workers: WORKERS, partitions: Number(args.partitions), fleet, afterLeave };
    const line = (label: string, m: typeof fleet) =>
      `  ${label.padEnd(22)} ${m.achievedPerSec} msg/s over ${m.seconds} s (${m.messages.toLocaleString()} messages), ` +
      `${m.deviationPct >= 0 ? '+' : ''}${m.deviationPct}% of the campaign's rate; 1-s windows p5 ${m.windowPerSec.p5}, ` +
      `p50 ${m.windowPerSec.p50}, p95 ${m.windowPerSec.p95}`;
    console.log(`
rate benchmark: spec.rateLimit.messagesPerSecond ${RATE}, ${WORKERS} worker processes, ${args.partitions} partitions
${line(`${WORKERS} workers`, fleet)}
${line(`${WORKERS - 1} after one left`, afterLeave)}
  worker RSS (max)       ${fleet.workerMaxRssMb} MB`);
    const file = join(resultsDir, `rate-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
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
