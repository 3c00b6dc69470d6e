import { isFallbackResult } from '@anshim/core';
import { Channel, DeadLetter, DeliveryReport } from '@anshim/proto';
import type { CampaignDirectory, CampaignSpec } from './campaign.ts';
import type { DispatchOutcome } from './dispatch-outcome.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { CampaignKeySource, CarrierKeys } from './keys.ts';
import type { PreparePool } from './pool.ts';
import { packFrames, unpackFrames } from './task.ts';
import type { PreparedMessage } from './prepare.ts';
import type { ProgressCounters } from './progress.ts';
import type { BatchingSink } from './sink.ts';
import { CAMPAIGN_HEADER, holdTopic, NOT_BEFORE_HEADER, TOPICS } from '@anshim/api';
import { OPEN_FAILURES } from './decrypt-audit.ts';
import { recordConsumed, recordDeadLetter, recordDispatch } from './telemetry.ts';

/** The channel of fallback step `step` (0 = primary), for reports. */
export function channelOfStep(campaign: CampaignSpec, step: number): Channel {
  const c = step === 0 ? campaign.channel : campaign.fallback[step - 1];
  return c === undefined || c === 'TEXT' ? Channel.SMS : Channel[c];
}

export interface ProcessorDeps {
  pool: PreparePool;
  dispatcher: Dispatcher;
  campaigns: CampaignDirectory;
  keys: CampaignKeySource;
  carrierKeys: CarrierKeys;
  portabilitySeed: string;
  sink: BatchingSink;
  progress: ProgressCounters;
  workerId: string;
  /** The senders' opt-out lists, checked at dispatch so an opt-out that arrives mid-campaign is honoured. */
  optOuts?: { has(tag: string): boolean };
  optOutKey?: Uint8Array;
  now?: () => number;
  /** Counts of sealed recipients opened per campaign, for the audit chain. */
  decryptAudit?: { record(campaignId: string, opened: number, failed: number): void };
  /** The campaign's dispatch rate (dispatch-rate.ts): sends through it no faster. */
  pace?: {
    paced<T, R>(campaignId: string, items: readonly T[], send: (part: T[]) => Promise<R[]>): Promise<R[]>;
  };
}

/**
 * Carries one campaign's slice of a Kafka batch to a final state: every record ends
 * accepted by a carrier, rejected with a reported result, or in the dead-letter topic.
 * Only when this resolves may the batch's offsets be committed.
 */
export class BatchProcessor {
  constructor(private readonly deps: ProcessorDeps) {}

  async process(campaignId: string, values: Buffer[]): Promise<void> {
    const { deps } = this;
    recordConsumed(campaignId, values.length);
    const campaign = deps.campaigns.get(campaignId);
    if (!campaign) {
      values.forEach((v) =>
        this.deadLetter(campaignId, '', 'unknown-campaign', 'no campaign spec on this worker', v, 0),
      );
      await deps.sink.flush();
      return;
    }
    let pending = values.map((value) => ({ value, step: 0 }));
    let wrote = false;
    while (pending.length > 0) {
      const out = await deps.pool.run({
        campaign,
        campaignKeys: deps.keys.keysFor(campaignId),
        carrierKeys: deps.carrierKeys,
        portabilitySeed: deps.portabilitySeed,
        records: packFrames(pending.map((p) => p.value)),
        steps: pending.some((p) => p.step > 0) ? pending.map((p) => p.step) : undefined,
        now: (deps.now ?? Date.now)(),
        optOutKey: deps.optOutKey,
      });
      if (deps.decryptAudit) {
        const failedToOpen = out.failed.filter((f) => OPEN_FAILURES.has(f.reason)).length;
        const malformed = out.failed.filter((f) => f.reason === 'malformed-record').length;
        deps.decryptAudit.record(campaignId, pending.length - failedToOpen - malformed, failedToOpen);
      }
      for (const f of out.failed) {
        wrote = true;
        this.deadLetter(campaignId, '', f.reason, f.detail, pending[f.index]!.value, 0);
      }
      if (out.held.length > 0) {
        wrote = true;
        deps.progress.held(campaignId, out.held.length);
        deps.sink.push(
          holdTopic(campaignId),
          out.held.map((h) => ({
            value: pending[h.index]!.value,
            headers: { [CAMPAIGN_HEADER]: campaignId, [NOT_BEFORE_HEADER]: String(h.untilMs) },
          })),
        );
      }
      const frames = unpackFrames(out.frames);
      const prepared = out.prepared
        .map((slot, i) => ({ ...slot, frame: frames[i]! }))
        .filter((msg) => {
          if (!msg.optOutTag || !deps.optOuts?.has(msg.optOutTag)) return true;
          wrote = true;
          this.deadLetter(
            campaignId,
            msg.recordId,
            'opted-out',
            'the recipient opted out of this sender',
            pending[msg.index]!.value,
            0,
          );
          return false;
        });
      // Each send, a fallback included, is a message of the campaign, paced at the campaign's
      // rate; the dispatcher's retries (the same frames, throttled or unanswered) are not counted again.
      const outcomes = deps.pace
        ? await deps.pace.paced(campaignId, prepared, (part) => deps.dispatcher.dispatch(part))
        : await deps.dispatcher.dispatch(prepared);
      const next: typeof pending = [];
      let accepted = 0;
      let duplicates = 0;
      const ackedAt = Date.now();
      prepared.forEach((msg, i) => {
        const outcome = outcomes[i]!;
        const origin = pending[msg.index]!;
        const fallsBack =
          outcome.kind === 'rejected' &&
          isFallbackResult(msg.channel, outcome.result) &&
          origin.step < campaign.fallback.length;
        recordDispatch(msg, outcome, ackedAt, fallsBack);
        if (outcome.kind === 'accepted') {
          accepted++;
          if (outcome.duplicate) duplicates++;
          deps.progress.ackLatency(msg.enqueuedAtMs, ackedAt);
          if (origin.step > 0) deps.progress.fellBack(campaignId, 1);
        } else if (outcome.kind === 'rejected') {
          wrote = true;
          this.report(campaign, msg, origin.step, outcome);
          if (fallsBack) {
            next.push({ value: origin.value, step: origin.step + 1 });
          } else deps.progress.result(campaignId, outcome.result);
        } else {
          wrote = true;
          this.deadLetter(
            campaignId,
            msg.recordId,
            outcome.reason,
            `gave up after ${outcome.attempts} attempts`,
            origin.value,
            outcome.attempts,
          );
        }
      });
      deps.progress.sent(campaignId, accepted, duplicates);
      pending = next;
    }
    // Dead letters and worker-side reports must be in Kafka before the offsets move on.
    if (wrote) await deps.sink.flush();
  }

  /** A final result the worker learnt from an ack rather than from a carrier report. */
  private report(
    campaign: CampaignSpec,
    msg: PreparedMessage,
    step: number,
    outcome: Extract<DispatchOutcome, { kind: 'rejected' }>,
  ): void {
    const now = Date.now();
    const report = DeliveryReport.encode({
      messageId: msg.recordId,
      campaignId: msg.campaignId,
      channel: msg.channel,
      carrier: msg.carrier,
      result: outcome.result,
      submittedAtMs: now,
      reportedAtMs: now,
      attempt: outcome.attempts,
      idempotencyKey: msg.idempotencyKey,
    }).finish();
    this.deps.sink.pushReport(msg.campaignId, {
      bytes: report,
      fallback: step > 0,
      fallbackFromChannel: step > 0 ? channelOfStep(campaign, step - 1) : Channel.CHANNEL_UNSPECIFIED,
    });
  }

  private deadLetter(
    campaignId: string,
    recordId: string,
    reason: string,
    detail: string,
    original: Buffer,
    attempts: number,
  ): void {
    this.deps.progress.deadLettered(campaignId, reason);
    recordDeadLetter(campaignId, reason);
    const value = DeadLetter.encode({
      recordId,
      campaignId,
      reason,
      detail,
      original,
      attempts,
      failedAtMs: Date.now(),
    }).finish();
    this.deps.sink.push(TOPICS.deadLetters, [{ key: campaignId, value: Buffer.from(value) }]);
  }
}
