// Protobuf wire-format helpers for the frames the worker writes by hand (carrier-frame.ts,
// report-frames.ts, carrier-link.ts). Number arithmetic, not bit operations, so 64-bit
// fields such as millisecond timestamps (past 2^32) encode correctly.

/** Bytes of `n` (a non-negative integer below 2^53) as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` as a varint at `at`; returns the offset after it. */
export function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}
