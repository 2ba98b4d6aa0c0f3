import { ConfigError, DefstateError, UsageError } from '@defstate/core';
import { isVerbose, traceError, VERBOSE_HINT } from './diagnostics.js';
import { ExitCode } from './exit-codes.js';
import { protectOutput } from './output/guard.js';
import { errorMessage } from './output/messages.js';
import { paint, terminalFor } from './output/terminal.js';

/**
 * The one place errors become output and exit codes. Known errors print their message (which
 * ends with what to check); anything else is a bug in defstate and says so, with its stack.
 * With --verbose both also print their cause chain with stack traces.
 */
export function reportError(error: unknown): number {
  // Usually on already; an error before any command ran is guarded too.
  protectOutput();
  if (error instanceof DefstateError) {
    errorMessage(error.message);
    if (isVerbose()) traceError('cause chain', error);
    else if (error.cause !== undefined) {
      const terminal = terminalFor(process.stderr);
      terminal.line(paint(terminal, 'dim', `  (${VERBOSE_HINT})`));
    }
    return error instanceof ConfigError || error instanceof UsageError
      ? ExitCode.usage
      : ExitCode.failed;
  }
  errorMessage(`internal error: ${(error as Error)?.stack ?? String(error)}`);
  traceError('cause chain', error);
  terminalFor(process.stderr).line(
    'This is a bug in defstate; please report it with the output above.',
  );
  return ExitCode.failed;
}
