// Submit throughput of one carrier simulator: the simulator runs as its own process
// (src/main.ts, as in the local stack); this process streams batches of 500 pre-sealed
// messages over one Submit stream with a window of in-flight batches for ~5 s, drains
// the Reports stream meanwhile, and prints msg/s and ack latency percentiles.
//   node --import tsx simulator/bench/submit.bench.ts [--seconds 5] [--batch 500] [--window 8] [--messages 250000]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SimulatedPortabilityDirectory } from '@anshim/core';
import type { ICarrierMessage, SubmitResponse } from '@anshim/proto';
import { dialCarrier, sealForCarrier, simulatorTransportKey, type FleetReady } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '500' },
    window: { type: 'string', default: '8' },
    messages: { type: 'string', default: '250000' },
  },
});
const seconds = Number(values.seconds);
const batchSize = Number(values.batch);
const window = Number(values.window);
const total = Number(values.messages);

const psk = randomBytes(32);
const child = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('../src/main.ts', import.meta.url)), '--carriers', 'skt'],
  {
    env: { ...process.env, ANSHIM_SIM_PSK_HEX: psk.toString('hex'), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
const ready = JSON.parse(line) as FleetReady;

// Pre-seal so the client measures the simulator, not its own AES: numbers SKT serves, Korean text.
const key = simulatorTransportKey('skt', psk);
const directory = new SimulatedPortabilityDirectory();
const numbers: string[] = [];
for (let i = 0; numbers.length < 5000; i++) {
  const n = `010${String(10_000_000 + i * 7919).slice(-8)}`;
  if (directory.operatorOf(n) === 'skt') numbers.push(n);
}
const sealStart = performance.now();
const batches: ICarrierMessage[][] = [];
for (let b = 0; b * batchSize < total; b++) {
  const batch: ICarrierMessage[] = [];
  for (let i = 0; i < batchSize; i++) {
    const n = b * batchSize + i;
    batch.push(
      sealForCarrier(key, {
        id: `bench-${n}`,
        campaignId: 'cmp-bench',
        recipient: numbers[n % numbers.length] as string,
        text: `(광고) 안심마트 주간 할인 ${n} 무료수신거부 080-000-0000`,
      }),
    );
  }
  batches.push(batch);
}
console.log(
  `sealed ${batches.length * batchSize} messages in ${((performance.now() - sealStart) / 1000).toFixed(1)} s`,
);

const client = dialCarrier(`127.0.0.1:${ready.carriers.skt?.port}`);
let reports = 0;
const reportStream = client.reports({});
reportStream.on('data', () => reports++);
reportStream.on('error', () => undefined);

const call = client.submit();
const sentAt: number[] = [];
const latencies: number[] = [];
let next = 0;
let acked = 0;
let accepted = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
const send = () => {
  while (next < batches.length && next - latencies.length < window && performance.now() < deadline) {
    sentAt.push(performance.now());
    call.write({ messages: batches[next++] as ICarrierMessage[] });
  }
  if (next - latencies.length === 0) call.end();
};
const done = new Promise<void>((resolve, reject) => {
  call.on('data', (response: SubmitResponse) => {
    latencies.push(performance.now() - (sentAt[latencies.length] as number));
    acked += response.acks.length;
    for (const ack of response.acks) if (ack.status === 1) accepted++;
    send();
  });
  call.on('end', resolve);
  call.on('error', reject);
});
send();
await done;
const elapsed = (performance.now() - started) / 1000;
// Reports trail the acks by the delivery delay plus the write path: wait for all (up to 20 s).
const reportsAtEnd = reports;
for (let waited = 0; reports < accepted && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
const reportSeconds = (performance.now() - started) / 1000;

const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(2);
console.log(
  `submit: ${acked} msgs (${accepted} accepted) in ${elapsed.toFixed(2)} s = ${Math.round(acked / elapsed)} msg/s; ` +
    `batch ${batchSize}, window ${window}; ack latency per batch p50 ${pct(50)} ms, p99 ${pct(99)} ms; ` +
    `reports received ${reportsAtEnd} by then`,
);
console.log(
  `reports: ${reports}/${accepted} received after ${reportSeconds.toFixed(2)} s = ${Math.round(reports / reportSeconds)} reports/s`,
);
reportStream.cancel();
client.close();
child.kill('SIGTERM');
await once(child, 'exit');
