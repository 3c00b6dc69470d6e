// Transport keys for simulators started from one pre-shared secret (local stack, tests,
// benchmarks). The worker must derive the same: secret = SHA-256(psk ‖ "|" ‖ carrier),
// key = carrierKeyFromPreShared(carrier, secret) (key id "<carrier>:psk:<fingerprint>").
import { DATA_KEY_BYTES } from '@anshim/core';
import { SimulatorError } from './errors.ts';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

export function parsePskHex(hex: string): Buffer {
  if (!HEX_KEY.test(hex))
    throw new SimulatorError('invalid-key', `pre-shared key must be ${DATA_KEY_BYTES * 2} hex digits`);
  return Buffer.from(hex, 'hex');
}

/** The fleet-secret derivation lives in core, so the worker derives the very same keys. */
export { carrierKeyFromFleetSecret as simulatorTransportKey } from '@anshim/core';
