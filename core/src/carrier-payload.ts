import { contextAad, contextAadText } from './envelope.ts';

/** Carriers (processors) a campaign may name. The MNOs carry SMS/LMS/MMS; the rest carry their own channel. */
export const CARRIERS = ['skt', 'kt', 'lguplus', 'kakao', 'rcs', 'push'] as const;
export type CarrierId = (typeof CARRIERS)[number];
export const MOBILE_NETWORK_OPERATORS = ['skt', 'kt', 'lguplus'] as const satisfies readonly CarrierId[];
export type MobileNetworkOperator = (typeof MOBILE_NETWORK_OPERATORS)[number];

export const isCarrierId = (value: string): value is CarrierId => (CARRIERS as readonly string[]).includes(value);

/**
 * AAD of a frame sealed for a carrier: the frame opens only as this part of this message,
 * so a recipient frame cannot be replayed as another message's body.
 */
export const carrierAad = (campaignId: string, messageId: string, part: 'recipient' | 'body'): Buffer =>
  contextAad('carrier', campaignId, messageId, part);

/** AAD of a campaign record's sealed recipient in Kafka. */
export const recordAad = (campaignId: string, recordId: string): Buffer => contextAad('record', campaignId, recordId);

/** carrierAad and recordAad as text: the same bytes, for the per-message hot path (see Aad). */
export const carrierAadText = (campaignId: string, messageId: string, part: 'recipient' | 'body'): string =>
  contextAadText('carrier', campaignId, messageId, part);
export const recordAadText = (campaignId: string, recordId: string): string =>
  contextAadText('record', campaignId, recordId);

/**
 * Which mobile operator serves a number. Numbers keep their prefix when they move between
 * operators, so routing asks a portability directory, never the prefix.
 */
export interface PortabilityDirectory {
  operatorOf(nationalNumber: string): MobileNetworkOperator;
}

/**
 * A deterministic stand-in for the KRNP portability database: a keyed hash spreads numbers
 * over operators in roughly the real market shares (SKT ~40%, KT ~30%, LGU+ ~30%), and explicit
 * entries model a recent port. Worker and simulators built with the same seed agree on every number.
 */
export class SimulatedPortabilityDirectory implements PortabilityDirectory {
  private readonly ported = new Map<string, MobileNetworkOperator>();

  constructor(private readonly seed = 'anshim-krnp') {}

  port(nationalNumber: string, to: MobileNetworkOperator): void {
    this.ported.set(nationalNumber, to);
  }

  operatorOf(nationalNumber: string): MobileNetworkOperator {
    const explicit = this.ported.get(nationalNumber);
    if (explicit) return explicit;
    const bucket = fnv1a(this.seed, nationalNumber) % 10;
    return bucket < 4 ? 'skt' : bucket < 7 ? 'kt' : 'lguplus';
  }
}

/**
 * FNV-1a over seed and number: spreads numbers evenly and deterministically, at a tenth of a
 * SHA-256's cost (it runs for every message on both sides). Not a secret: a stand-in table.
 */
function fnv1a(seed: string, value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x1f, 0x01000193);
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  // A final avalanche, so numbers differing only in their last digit land on unrelated buckets.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
