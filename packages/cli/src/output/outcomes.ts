import type { KeyResult, RefreshReport, StateInfo } from '@defstate/core';

/**
 * A key's outcome as the CLI shows it. Core's refresh engine reports `cancelled` (stopped part
 * way by an interruption) and `not-run` (never started because of one) beside the three below,
 * and `interrupted` on the report; this type is the CLI's view of that union until core's own
 * `KeyOutcome` carries all five.
 */
export type Outcome = 'refreshed' | 'unchanged' | 'failed' | 'cancelled' | 'not-run';

export const OUTCOMES: readonly Outcome[] = [
  'refreshed',
  'unchanged',
  'failed',
  'cancelled',
  'not-run',
];

/** A key's result with the outcome widened, and the generation a versioned store assigned. */
export type ShownResult = Omit<KeyResult, 'status'> & {
  status: Outcome;
  info?: StateInfo & { generation?: number };
};

/**
 * The outcome to show. Once a run is interrupted, a key that stopped with the engine's
 * "cancelled" error was cancelled, not failed, whichever way the engine labels it.
 */
export function shownResult(result: KeyResult, interrupted: boolean): ShownResult {
  const status = result.status as Outcome;
  const aborted = (result.error as { code?: unknown } | undefined)?.code === 'ABORTED';
  return interrupted && status === 'failed' && aborted
    ? { ...result, status: 'cancelled' }
    : { ...result, status };
}

/** Whether the run was interrupted: the engine's word, or the signal the CLI received. */
export function wasInterrupted(report: RefreshReport, signalled: boolean): boolean {
  return (report as { interrupted?: boolean }).interrupted === true || signalled;
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
