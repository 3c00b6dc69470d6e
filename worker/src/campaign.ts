import type { CampaignSpec } from '@anshim/api';

export type { CampaignChannel, CampaignSpec } from '@anshim/api';

export interface CampaignDirectory {
  get(campaignId: string): CampaignSpec | undefined;
}

export class StaticCampaignDirectory implements CampaignDirectory {
  private readonly specs = new Map<string, CampaignSpec>();
  constructor(specs: CampaignSpec[] = []) {
    for (const s of specs) this.specs.set(s.id, s);
  }
  set(spec: CampaignSpec): void {
    this.specs.set(spec.id, spec);
  }
  get(campaignId: string): CampaignSpec | undefined {
    return this.specs.get(campaignId);
  }
}
