// The campaign vocabulary, typed once: the CRD schema's enums, as TypeScript.

export const PURPOSES = ['advertising', 'informational', 'transactional'] as const;
/** What the recipients' data was collected for; advertising enforces consent, the night window and opt-outs. */
export type Purpose = (typeof PURPOSES)[number];

export const PRIORITY_CLASSES = ['bulk', 'normal', 'transactional', 'alert'] as const;
/** OTPs and alerts (`transactional`, `alert`) get their own topics and workers, never queued behind a promotion. */
export type PriorityClass = (typeof PRIORITY_CLASSES)[number];

export const PHASES = ['Pending', 'Provisioning', 'Sending', 'Draining', 'Completed', 'Destroyed', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

/** Phases in which the campaign's topic exists and its key is live: recipients may be added. */
export const ACCEPTING_PHASES: readonly Phase[] = ['Provisioning', 'Sending'];

export const CAMPAIGN_CHANNELS = ['TEXT', 'SMS', 'LMS', 'MMS', 'ALIMTALK', 'FRIENDTALK', 'RCS', 'PUSH'] as const;
/** The channel a campaign asks for; TEXT picks SMS or LMS by length. */
export type CampaignChannel = (typeof CAMPAIGN_CHANNELS)[number];

/** Channels whose recipient is a mobile handset (SMS/LMS/MMS, Kakao, RCS): landlines are refused for them. */
export const needsMobile = (channel: CampaignChannel | undefined): boolean => channel !== 'PUSH';
