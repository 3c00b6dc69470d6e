import { createHash } from 'node:crypto';
import { contextAad } from './envelope.ts';

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
    const bucket = createHash('sha256').update(this.seed).update(nationalNumber).digest().readUInt16BE(0) % 10;
    return bucket < 4 ? 'skt' : bucket < 7 ? 'kt' : 'lguplus';
  }
}
