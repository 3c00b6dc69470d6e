// Typed simulator errors. Messages name carriers, ports and config keys only, never content.
export type SimulatorErrorReason = 'unknown-carrier' | 'invalid-config' | 'invalid-key' | 'bind-failed' | 'closed';

export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';
  constructor(
    readonly reason: SimulatorErrorReason,
    detail?: string,
  ) {
    super(detail ? `simulator: ${reason} (${detail})` : `simulator: ${reason}`);
  }
}
