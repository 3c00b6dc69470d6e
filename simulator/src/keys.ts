// Transport keys for simulators started from one pre-shared secret (local stack, tests,
// benchmarks). The worker must derive the same: secret = SHA-256(psk ‖ "|" ‖ carrier),
// key = carrierKeyFromPreShared(carrier, secret) (key id "<carrier>:psk:<fingerprint>").
import { createHash } from 'node:crypto';
import { DATA_KEY_BYTES, carrierKeyFromPreShared, type DataKey } from '@anshim/core';
import { SimulatorError } from './errors.ts';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

export function parsePskHex(hex: string): Buffer {
  if (!HEX_KEY.test(hex))
    throw new SimulatorError('invalid-key', `pre-shared key must be ${DATA_KEY_BYTES * 2} hex digits`);
  return Buffer.from(hex, 'hex');
}

/** One transport key per carrier from a shared secret, so one secret serves the whole fleet. */
export function simulatorTransportKey(carrier: string, psk: Uint8Array): DataKey {
  const secret = createHash('sha256').update(psk).update('|').update(carrier).digest();
  return carrierKeyFromPreShared(carrier, secret);
}
