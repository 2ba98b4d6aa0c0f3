import { ConfigError, DefstateError, UsageError } from '@defstate/core';
import { ExitCode } from './exit-codes.js';
import { paint, terminalFor } from './output/terminal.js';

/**
 * The one place errors become output and exit codes. Known errors print their message (which
 * ends with what to check); anything else is a bug in defstate and says so, with its stack.
 */
export function reportError(error: unknown): number {
  const terminal = terminalFor(process.stderr);
  if (error instanceof DefstateError) {
    terminal.line(`${paint(terminal, 'red', 'error')} ${error.message}`);
    return error instanceof ConfigError || error instanceof UsageError
      ? ExitCode.usage
      : ExitCode.failed;
  }
  terminal.line(
    `${paint(terminal, 'red', 'internal error')} ${(error as Error)?.stack ?? String(error)}`,
  );
  terminal.line('This is a bug in defstate; please report it with the output above.');
  return ExitCode.failed;
}
