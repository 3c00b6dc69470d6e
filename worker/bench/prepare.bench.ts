// npm run bench:prepare [-- --records N]
// CPU cost of the pool task alone (open, validate, render, route, re-seal), in this thread,
// without Kafka or carriers: the figure to watch when changing the per-message hot path.
import { parseArgs } from 'node:util';
import { Piscina } from 'piscina';
import { carrierKeyFromFleetSecret, generateDataKey, sealCampaignRecord, type CarrierId } from '@anshim/core';
import prepareBatch, { packFrames } from '../src/task.ts';
import { fakeRecipients, textCampaign } from '@anshim/dev-platform';

const { values: args } = parseArgs({ options: { records: { type: 'string', default: '200000' } } });
const TOTAL = Number(args.records);
const CHUNK = 500;
const MNOS: CarrierId[] = ['skt', 'kt', 'lguplus'];

const spec = textCampaign('bench-prepare', { processors: MNOS });
const dataKey = generateDataKey(spec.id);
const secret = Buffer.alloc(32, 7);
const carrierKeys = MNOS.map((carrier) => {
  const k = carrierKeyFromFleetSecret(carrier, secret);
  return { carrier, id: k.id, material: new Uint8Array(k.material) };
});
const recipients = fakeRecipients(TOTAL);
const chunks: Uint8Array[][] = [];
for (let i = 0; i < TOTAL; i += CHUNK) {
  const chunk: Uint8Array[] = [];
  for (let j = i; j < Math.min(TOTAL, i + CHUNK); j++)
    chunk.push(sealCampaignRecord(dataKey, spec.id, `r${j}`, recipients.next().value!));
  chunks.push(chunk);
}
const campaignKeys = [{ id: dataKey.id, material: new Uint8Array(dataKey.material) }];

function run(n: number): number {
  let prepared = 0;
  for (let c = 0; c < n; c++) {
    const moved = prepareBatch({
      campaign: spec,
      campaignKeys,
      carrierKeys,
      portabilitySeed: 'anshim-krnp',
      records: packFrames(chunks[c % chunks.length]!),
      now: Date.now(),
    }) as unknown as Record<symbol, ReturnType<typeof prepareBatch>>;
    // The task returns a Piscina.move() wrapper; the value is behind its symbol.
    const out = moved[Piscina.valueSymbol]!;
    prepared += out.prepared.length;
  }
  return prepared;
}

run(Math.min(40, chunks.length)); // warm up the JIT
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const prepared = run(chunks.length);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuUs = cpu.user + cpu.system;
console.log(`pool task: ${prepared.toLocaleString()} messages prepared
  CPU per message     ${(cpuUs / prepared).toFixed(1)} µs (one thread; user ${(cpu.user / prepared).toFixed(1)} µs)
  one thread          ${Math.round(prepared / (wallMs / 1000)).toLocaleString()} msg/s
  heap used           ${Math.round(process.memoryUsage().heapUsed / 1024 / 1024)} MB, RSS ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MB`);
