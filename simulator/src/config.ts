// The standalone process's configuration: a JSON file and/or command-line flags, checked
// at the boundary so the rest trusts its types.
import { readFileSync } from 'node:fs';
import { isCarrierId, type CarrierId } from '@anshim/core';
import { ResultCode } from '@anshim/proto';
import { SimulatorError } from './errors.ts';
import type { KakaoAudience } from './carriers/index.ts';
import type { LatencyRange } from './server.ts';

/** Per-carrier knobs as they appear in JSON (result codes by name). */
export interface CarrierConfig {
  port?: number;
  /** Overrides the derived key: this carrier's own 32-byte pre-shared secret, hex. */
  pskHex?: string;
  latencyMs?: number | LatencyRange;
  deliveryDelayMs?: number;
  failureRates?: Partial<Record<keyof typeof ResultCode, number>>;
  throttle?: number | null;
  dedupeWindowMs?: number;
  kakaoTemplates?: string[];
  kakaoAudience?: Partial<KakaoAudience>;
  maxBufferedReports?: number;
}

export interface SimulatorConfig {
  host: string;
  seed?: string;
  /** Fleet secret; each carrier's key is derived from it (see keys.ts). */
  pskHex?: string;
  /** File paths of PEM files; present = mutual TLS on every carrier. */
  tls?: { ca: string; cert: string; key: string };
  admin: { port: number };
  defaults: CarrierConfig;
  carriers: Partial<Record<CarrierId, CarrierConfig>>;
}

export const USAGE = `usage: simulator [config.json] [--carriers skt,kt,lguplus,kakao] [--psk-hex <64 hex>]
                 [--host 127.0.0.1] [--admin-port 0] [--seed s]
  The pre-shared key may also come from ANSHIM_SIM_PSK_HEX (keeps it out of the process list).`;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkCarrierConfig(where: string, value: unknown): CarrierConfig {
  if (!isObject(value)) throw new SimulatorError('invalid-config', `${where} must be an object`);
  const rates = value.failureRates;
  if (rates !== undefined) {
    if (!isObject(rates)) throw new SimulatorError('invalid-config', `${where}.failureRates must be an object`);
    for (const [name, p] of Object.entries(rates))
      if (typeof ResultCode[name as keyof typeof ResultCode] !== 'number' || typeof p !== 'number')
        throw new SimulatorError('invalid-config', `${where}.failureRates.${name}`);
  }
  for (const key of ['port', 'deliveryDelayMs', 'dedupeWindowMs', 'maxBufferedReports'] as const)
    if (value[key] !== undefined && typeof value[key] !== 'number')
      throw new SimulatorError('invalid-config', `${where}.${key} must be a number`);
  if (value.kakaoTemplates !== undefined && !Array.isArray(value.kakaoTemplates))
    throw new SimulatorError('invalid-config', `${where}.kakaoTemplates must be an array`);
  return value as CarrierConfig;
}

/** Result codes by name (JSON) → by value (simulator options). */
export function failureRatesByCode(
  rates: CarrierConfig['failureRates'] | undefined,
): Partial<Record<ResultCode, number>> | undefined {
  if (rates === undefined) return undefined;
  const out: Partial<Record<ResultCode, number>> = {};
  for (const [name, p] of Object.entries(rates)) out[ResultCode[name as keyof typeof ResultCode]] = p;
  return out;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const config: SimulatorConfig = { host: '127.0.0.1', admin: { port: 0 }, defaults: {}, carriers: {} };
  const args = [...argv];
  const flags = new Map<string, string>();
  let file: string | undefined;
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg.startsWith('--')) {
      const value = args.shift();
      if (value === undefined) throw new SimulatorError('invalid-config', `${arg} needs a value`);
      flags.set(arg.slice(2), value);
    } else if (file === undefined) file = arg;
    else throw new SimulatorError('invalid-config', `unexpected argument ${arg}`);
  }

  if (file !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new SimulatorError('invalid-config', `${file}: ${(error as Error).message}`);
    }
    if (!isObject(raw)) throw new SimulatorError('invalid-config', `${file} must hold an object`);
    if (typeof raw.host === 'string') config.host = raw.host;
    if (typeof raw.seed === 'string') config.seed = raw.seed;
    if (typeof raw.pskHex === 'string') config.pskHex = raw.pskHex;
    if (raw.tls !== undefined) {
      const tls = raw.tls;
      if (!isObject(tls) || typeof tls.ca !== 'string' || typeof tls.cert !== 'string' || typeof tls.key !== 'string')
        throw new SimulatorError('invalid-config', 'tls needs ca, cert and key paths');
      config.tls = { ca: tls.ca, cert: tls.cert, key: tls.key };
    }
    if (isObject(raw.admin) && typeof raw.admin.port === 'number') config.admin.port = raw.admin.port;
    if (raw.defaults !== undefined) config.defaults = checkCarrierConfig('defaults', raw.defaults);
    if (raw.carriers !== undefined) {
      if (!isObject(raw.carriers)) throw new SimulatorError('invalid-config', 'carriers must be an object');
      for (const [id, value] of Object.entries(raw.carriers)) {
        if (!isCarrierId(id)) throw new SimulatorError('unknown-carrier', id);
        config.carriers[id] = checkCarrierConfig(`carriers.${id}`, value);
      }
    }
  }

  for (const [flag, value] of flags) {
    switch (flag) {
      case 'carriers':
        for (const id of value.split(',').filter(Boolean)) {
          if (!isCarrierId(id)) throw new SimulatorError('unknown-carrier', id);
          config.carriers[id] ??= {};
        }
        break;
      case 'psk-hex':
        config.pskHex = value;
        break;
      case 'host':
        config.host = value;
        break;
      case 'admin-port':
        config.admin.port = Number(value);
        break;
      case 'seed':
        config.seed = value;
        break;
      default:
        throw new SimulatorError('invalid-config', `unknown flag --${flag}`);
    }
  }
  config.pskHex ??= env.ANSHIM_SIM_PSK_HEX;
  if (Object.keys(config.carriers).length === 0) throw new SimulatorError('invalid-config', 'no carriers named');
  for (const [id, c] of Object.entries(config.carriers))
    if ((c?.pskHex ?? config.pskHex) === undefined)
      throw new SimulatorError('invalid-key', `no pre-shared key for ${id} (--psk-hex or ANSHIM_SIM_PSK_HEX)`);
  return config;
}

export function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SimulatorError(
      'invalid-config',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
