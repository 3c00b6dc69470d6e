// The seam between the reconcile steps and the world: what the reconciler reads (observations)
// and what it does (actions). cluster-world.ts is the one implementation against the API server
// and Kafka; unit tests give the reconciler a world of their own.
import type { CampaignCounts, CampaignStatus, MessagingCampaign, MessagingFleet } from '@anshim/api';
import type { TopicLag } from '../lag.ts';
import type { KeyState } from './provision.ts';
import type { DeploymentState } from './scale.ts';
import type { Action } from './step.ts';

/** The dataset ConfigMap the gateway writes after an upload (anshim-dataset-<name>): no personal data. */
export interface DatasetRecord {
  /** The purpose the data was collected for (purpose binding). */
  purpose?: string;
  /** A whole upload of it completed: the audience is on the topic even below spec.audience.size. */
  complete: boolean;
}

export interface CampaignWorld {
  /** What the gateway recorded of the campaign's dataset at ingest, if anything yet. */
  dataset(mc: MessagingCampaign): Promise<DatasetRecord | undefined>;
  /** The MessagingFleet the campaign names; undefined when there is none. */
  fleet(mc: MessagingCampaign): Promise<MessagingFleet | undefined>;
  /** Partitions by topic, for those of `names` that exist. */
  topicPartitions(names: string[]): Promise<Map<string, number>>;
  /** The campaign's data key, created when absent (the key store's ensure is idempotent). */
  ensureKey(mc: MessagingCampaign): Promise<KeyState>;
  /** The data key wrapped under the key-encryption keys the workers hold. */
  wrappedKeys(mc: MessagingCampaign): Promise<Buffer[]>;
  lag(groupId: string, topic: string): Promise<TopicLag>;
  deployment(mc: MessagingCampaign): Promise<DeploymentState | undefined>;
  /**
   * Summed worker progress; `queued` is what the topic says was enqueued. Undefined while the
   * progress feed has not yet read its topic up to where it stood (counts would go backwards).
   */
  progress(mc: MessagingCampaign, queued: number): (CampaignCounts & { final: number; queued: number }) | undefined;
  /** Carries out one action. destroy-data answers the name of the destruction record it wrote. */
  execute(mc: MessagingCampaign, action: Action, status: CampaignStatus): Promise<{ record?: string }>;
  /** Writes status; answers the object's new resourceVersion. */
  patchStatus(mc: MessagingCampaign, status: CampaignStatus): Promise<string | undefined>;
}
