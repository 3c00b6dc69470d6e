// The answer to an upload: counts, and a capped list of rejected rows with masked values only.
import type { Rejection, RejectionReason } from './recipient.ts';

export interface RejectedRow {
  row: number;
  reason: RejectionReason;
  column?: string;
  /** Masked: 010-****-5678. */
  phone?: string;
  /** Masked: 김*수. */
  name?: string;
}

export interface IngestCounts {
  /** Data rows read (blank rows and the header not counted). */
  rows: number;
  accepted: number;
  /** Rows whose number already appeared earlier in this upload. */
  duplicates: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectionReason, number>>;
  /** Accepted with advertising consent older than two years: to be re-confirmed. */
  consentOlderThanTwoYears: number;
  /** Accepted with advertising consent but no consent date. */
  consentUndated: number;
}

export class IngestReport {
  readonly counts: IngestCounts = {
    rows: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    rejectedByReason: {},
    consentOlderThanTwoYears: 0,
    consentUndated: 0,
  };
  readonly rejections: RejectedRow[] = [];
  rejectionsTruncated = false;

  constructor(private readonly maxListed: number) {}

  reject(row: number, rejection: Rejection): void {
    this.counts.rejected++;
    this.counts.rejectedByReason[rejection.reason] = (this.counts.rejectedByReason[rejection.reason] ?? 0) + 1;
    if (this.rejections.length >= this.maxListed) {
      this.rejectionsTruncated = true;
      return;
    }
    const { reason, column, phone, name } = rejection;
    this.rejections.push({
      row,
      reason,
      ...(column ? { column } : {}),
      ...(phone ? { phone } : {}),
      ...(name ? { name } : {}),
    });
  }
}
