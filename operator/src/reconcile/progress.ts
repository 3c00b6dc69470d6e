import { type CampaignCounts, type CampaignStatus, type MessagingCampaign } from '@anshim/api';
import { nextPhase } from '../phase.ts';
import type { StepResult } from './step.ts';

export interface ProgressInput {
  /** Topics, key and workers are in place this reconcile. */
  provisioned: boolean;
  /** The worker group's lag, when Kafka answered (counts are shown only when it did). */
  lag: { lag: number } | undefined;
  /** Summed worker progress, with `queued` from the topic's high watermarks. */
  counts: CampaignCounts & { final: number; queued: number };
  /** The phase the earlier steps left (a fatal step already set Failed). */
  status: CampaignStatus;
  /** The gateway recorded a whole upload of the dataset (its ConfigMap), whatever spec.audience.size says. */
  ingestComplete: boolean;
  now: number;
}

/**
 * Counts and phase: Pending → Provisioning → Sending ⇄ Draining → Completed (phase.ts), with
 * the start and completion times stamped once. Completion needs the whole audience on the
 * topic (its size, or the gateway's record of a completed upload) and a final outcome for each.
 */
export function advancePhase(mc: MessagingCampaign, input: ProgressInput): StepResult {
  const { counts, lag, status } = input;
  const size = mc.spec.audience.size;
  const phase = nextPhase(mc.status?.phase, {
    provisioned: input.provisioned,
    queued: counts.queued,
    lag: lag?.lag ?? 1,
    final: counts.final,
    ingestComplete: size === undefined || counts.queued >= size || input.ingestComplete,
    openEnded: mc.spec.priorityClass === 'transactional' || mc.spec.priorityClass === 'alert',
  });
  const next: Partial<CampaignStatus> = {
    phase: status.phase === 'Failed' ? 'Failed' : phase,
    observedGeneration: mc.metadata.generation,
  };
  if (lag) {
    const {
      final: _final,
      duplicates: _duplicates,
      ...shown
    } = counts as CampaignCounts & {
      final: number;
      duplicates?: number;
    };
    next.counts = shown;
  }
  const nowIso = new Date(input.now).toISOString();
  if (next.phase === 'Sending' && !status.startTime) next.startTime = nowIso;
  if (next.phase !== 'Completed' || status.completionTime) return { status: next };
  next.completionTime = nowIso;
  return {
    status: next,
    conditions: [
      {
        type: 'Completed',
        ok: true,
        reason: 'AllMessagesFinal',
        message: `${counts.final} of ${counts.queued} messages final`,
      },
    ],
  };
}
