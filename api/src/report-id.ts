// A delivery report's identity downstream (webhook-id, the results store, dedupe): reports are
// delivered at least once (a carrier offers an unacknowledged batch again), so a consumer must
// recognise a second copy. A carrier reports once per idempotency key it accepted (a retry
// reuses the key; a fallback step has its own, `#fallback<n>`), so carrier and key name a report.
import type { IDeliveryReport } from '@anshim/proto';

/** The stable id of a delivery report: the same for every copy of it, different for any other report. */
export function reportId(report: Pick<IDeliveryReport, 'carrier' | 'idempotencyKey'>): string {
  if (!report.carrier || !report.idempotencyKey)
    throw new TypeError('a delivery report without carrier or idempotency key has no stable id');
  return `${report.carrier}/${report.idempotencyKey}`;
}
