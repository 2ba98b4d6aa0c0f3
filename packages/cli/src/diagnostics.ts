import { debugEnabled, formatCauseChain } from '@defstate/core';
import { paint, terminalFor } from './output/terminal.js';

/**
 * `--verbose` (or DEFSTATE_DEBUG=cli, 1 or *): errors are shown with their cause chain and stack
 * traces. Always on stderr, so a --json document on stdout stays whole.
 */
let verbose = false;

export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(env: NodeJS.ProcessEnv = process.env): boolean {
  return verbose || debugEnabled('cli', env);
}

/** Prints an error's cause chain with stacks on stderr, under a heading, when verbose. */
export function traceError(heading: string, error: unknown): void {
  if (!isVerbose()) return;
  const terminal = terminalFor(process.stderr);
  terminal.line(paint(terminal, 'dim', `── ${heading} ──`));
  terminal.line(formatCauseChain(error));
}

/** The line that tells a user how to see more, shown when they have not asked for it. */
export const VERBOSE_HINT = 'run with --verbose (or DEFSTATE_DEBUG=cli) for stack traces';
