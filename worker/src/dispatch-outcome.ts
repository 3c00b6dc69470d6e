import type { ResultCode } from '@anshim/proto';

/**
 * What became of one prepared message at its carrier. Its own module, because the dispatcher,
 * the batch processor and the telemetry all speak of it, and telemetry must not import the
 * dispatcher (carrier-link → telemetry → dispatcher → carrier-link was a cycle).
 */
export type DispatchOutcome =
  | { kind: 'accepted'; duplicate: boolean; attempts: number }
  | { kind: 'rejected'; result: ResultCode; detail: string; attempts: number }
  | { kind: 'gave-up'; reason: 'carrier-unavailable' | 'throttled' | 'no-route'; attempts: number };
