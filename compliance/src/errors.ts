// Every error of this package carries a typed `reason` to branch on and a detail an operator
// can act on (ids, offsets, field paths — never entry content or personal data).
export class ComplianceError<Reason extends string> extends Error {
  constructor(
    readonly reason: Reason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason} (${detail})`, options);
  }
}
