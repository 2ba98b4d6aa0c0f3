import type { KeyOutcome, KeyResult, RefreshReport } from '@defstate/core';

/**
 * A key's outcome as the CLI shows it: core's, where `cancelled` is a key an interruption
 * stopped part way and `not-run` one it never let start.
 */
export type Outcome = KeyOutcome;

export const OUTCOMES: readonly Outcome[] = [
  'refreshed',
  'unchanged',
  'failed',
  'cancelled',
  'not-run',
];

/** A key's result as shown. */
export type ShownResult = KeyResult;

/**
 * The outcome to show. Once a run is interrupted, a key that stopped with the engine's
 * "cancelled" error was cancelled, not failed, whichever way the engine labels it.
 */
export function shownResult(result: KeyResult, interrupted: boolean): ShownResult {
  const { status } = result;
  const aborted = (result.error as { code?: unknown } | undefined)?.code === 'ABORTED';
  return interrupted && status === 'failed' && aborted
    ? { ...result, status: 'cancelled' }
    : { ...result, status };
}

/** Whether the run was interrupted: the engine's word, or the signal the CLI received. */
export function wasInterrupted(report: RefreshReport, signalled: boolean): boolean {
  return report.interrupted || signalled;
}

export function countOutcomes(results: readonly ShownResult[]): Record<Outcome, number> {
  const counts = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<
    Outcome,
    number
  >;
  for (const result of results) counts[result.status] = (counts[result.status] ?? 0) + 1;
  return counts;
}

export const OUTCOME_WORDS: Readonly<Record<Outcome, string>> = {
  refreshed: 'refreshed',
  unchanged: 'unchanged',
  failed: 'failed',
  cancelled: 'cancelled',
  'not-run': 'not run',
};
