/** A required program is not installed; the message is one line naming what to install. */
export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
  constructor(
    readonly tool: string,
    readonly hint: string,
  ) {
    super(`missing tool: '${tool}' was not found on PATH — ${hint}`);
  }
}

/** A stack step failed; `logFile` points at the full output of the failing command. */
export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    message: string,
    readonly logFile?: string,
  ) {
    super(logFile ? `${message} (see ${logFile})` : message);
  }
}
