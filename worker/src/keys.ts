import type { CarrierId } from '@anshim/core';
import type { KeyMaterial } from './task.ts';

/** Where a worker finds the data keys of the campaigns it serves (unwrapped, in memory only). */
export interface CampaignKeySource {
  keysFor(campaignId: string): KeyMaterial[];
}

export class StaticCampaignKeys implements CampaignKeySource {
  private readonly keys = new Map<string, KeyMaterial[]>();
  add(campaignId: string, key: KeyMaterial): void {
    this.keys.set(campaignId, [...(this.keys.get(campaignId) ?? []), key]);
  }
  /** Crypto-shredding on the worker side: forget every key of the campaign. */
  forget(campaignId: string): void {
    this.keys.delete(campaignId);
  }
  keysFor(campaignId: string): KeyMaterial[] {
    return this.keys.get(campaignId) ?? [];
  }
}

export type CarrierKeys = Array<KeyMaterial & { carrier: CarrierId }>;
