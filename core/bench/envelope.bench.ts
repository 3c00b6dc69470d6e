// Prints seal/open throughput for 120-byte payloads (a sealed RecipientPayload is about
// that size). Run: node --import tsx core/bench/envelope.bench.ts [seconds-per-case]
import { randomBytes } from 'node:crypto';
import { aeadEngine, contextAad, generateDataKey, Keyring, open, seal } from '../src/index.ts';

const seconds = Number(process.argv[2] ?? 2);
const key = generateDataKey('bench');
const ring = new Keyring([key, generateDataKey('other')]);
const payload = randomBytes(120);
const aad = contextAad('campaign-record', 'cmp-bench', 'rec-000001');
const frame = seal(key, payload, aad);

function measure(name: string, fn: () => unknown): void {
  for (let i = 0; i < 20_000; i++) fn(); // warm up
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1_000; i++) fn();
    ops += 1_000;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  console.log(
    `${name.padEnd(28)} ${Math.round(ops / secs)
      .toLocaleString('en-US')
      .padStart(10)} ops/s  ${((secs / ops) * 1e6).toFixed(2)} µs/op`,
  );
}

console.log(
  `envelope, 120-byte payload, frame ${frame.length} bytes, node ${process.version}, AES-GCM engine ${aeadEngine}`,
);
measure('seal (with aad)', () => seal(key, payload, aad));
measure('open (key, with aad)', () => open(key, frame, aad));
measure('open (keyring, with aad)', () => open(ring, frame, aad));
measure('seal+open round trip', () => open(key, seal(key, payload, aad), aad));
