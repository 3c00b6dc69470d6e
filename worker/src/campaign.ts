import type { CarrierId } from '@anshim/core';

/** The channel a campaign asks for; text channels pick SMS or LMS by length. */
export type CampaignChannel = 'TEXT' | 'SMS' | 'LMS' | 'MMS' | 'ALIMTALK' | 'FRIENDTALK' | 'RCS' | 'PUSH';

/**
 * What a worker needs to know of a campaign: everything but its recipients. Serialisable,
 * because it crosses into the pool's threads.
 */
export interface CampaignSpec {
  id: string;
  channel: CampaignChannel;
  /** Channels tried in order when the primary one fails for the recipient (e.g. ALIMTALK → TEXT). */
  fallback: CampaignChannel[];
  /** Body with `#{name}` / `#{var}` placeholders, as Kakao and Korean SMS templates write them. */
  template: string;
  /** AlimTalk registered template code. */
  templateCode?: string;
  senderNumber: string;
  /** Carriers allowed to process this campaign's data (purpose binding: nobody else gets it). */
  processors: CarrierId[];
  /** Messages not delivered within this many ms of enqueueing expire at the carrier (0 = never). */
  ttlMs: number;
  /** What the recipients' data was collected for; advertising enforces consent, the night window and opt-outs. */
  purpose?: 'advertising' | 'informational' | 'transactional';
  /** The sender's free opt-out line (080…): opt-outs are kept per line. */
  optOutNumber?: string;
}

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
