export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with "full jitter" (a random wait up to the exponential cap), never
 * shorter than the carrier's own retry hint, so retrying workers spread out instead of
 * hammering a recovering carrier in lockstep.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, hintMs = 0, random = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(hintMs, Math.round(cap / 2 + (random() * cap) / 2));
}
