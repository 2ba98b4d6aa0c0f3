import type { PinFile } from '../model/pin-file.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';

/**
 * How one key's refresh ended:
 * - `refreshed`: its new state is committed (versioned: its version became latest);
 * - `unchanged`: the fetched state equals the committed one, so nothing new was written;
 * - `failed`: it did not commit, for the reason in `error`;
 * - `cancelled`: the run was interrupted while this key was refreshing; nothing was committed;
 * - `not-run`: the run was interrupted before this key started.
 */
export type KeyOutcome = 'refreshed' | 'unchanged' | 'failed' | 'cancelled' | 'not-run';

export interface KeyResult {
  key: string;
  management: ManagementType;
  status: KeyOutcome;
  /** From the key's start (not its wait for a free slot) to its result, its commit included. */
  durationMs: number;
  /** Attempts made at the component's refresh (1 when it succeeded first time). */
  attempts: number;
  /**
   * The key's state after the run: what it committed, or the state it found unchanged. For a
   * versioned key, `generation` says which commit of the key made it latest.
   */
  info?: StateInfo;
  error?: Error;
}

export type RefreshEvent =
  | { type: 'start'; key: string; management: ManagementType }
  | { type: 'log'; key: string; message: string }
  | { type: 'retry'; key: string; attempt: number; delayMs: number; error: Error }
  | { type: 'end'; result: KeyResult };

export interface RefreshReport {
  /** Every selected key refreshed or unchanged, and the run was not interrupted. */
  ok: boolean;
  /** The run's signal was aborted (Ctrl-C, SIGTERM): keys are `cancelled` or `not-run`. */
  interrupted: boolean;
  results: KeyResult[];
  durationMs: number;
  /** Writes of pointer documents this run made. */
  pointerWrites: number;
  /** The same as `pointerWrites`; the name from when the pointer was one document. */
  stateInfoWrites: number;
  /** Where versioned state went, when any versioned key was selected. */
  storeLocation?: string;
  /** The pins written, when `pin` was asked for and every key succeeded. */
  pins?: PinFile;
  /** The pin file's path, when it was written. */
  pinFile?: string;
  /** Why no pins were written although `pin` was asked for; `ok` is false then. */
  pinError?: Error;
}
