import { FINALIZER, type MessagingCampaign } from '@anshim/api';
import type { StepResult } from './step.ts';

/**
 * The finalizer's life: on before anything is created (so nothing can outlive the object), and
 * off only once the data is destroyed — by deletion, or by retention (phase Destroyed).
 * Answers undefined when the campaign is live and the other steps should run.
 */
export function finalize(mc: MessagingCampaign): StepResult | undefined {
  const finalizers = mc.metadata.finalizers ?? [];
  const has = finalizers.includes(FINALIZER);
  const without = finalizers.filter((f) => f !== FINALIZER);
  if (mc.metadata.deletionTimestamp) {
    if (!has) return {};
    return {
      actions: [
        { kind: 'destroy-data', trigger: 'deleted' },
        { kind: 'set-finalizers', finalizers: without },
      ],
    };
  }
  if (mc.status?.phase === 'Destroyed')
    return has ? { actions: [{ kind: 'set-finalizers', finalizers: without }] } : {};
  if (!has) return { actions: [{ kind: 'set-finalizers', finalizers: [...finalizers, FINALIZER] }] };
  return undefined;
}
