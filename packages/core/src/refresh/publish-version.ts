import { type RetryRuntime, STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { TimeoutError, TransientError } from '../errors.js';
import type { StateInfo } from '../model/state-info.js';
import type { BlobStore } from '../store/blob-store.js';
import { ORPHAN_GRACE_MS, RECORD_GRACE_MS, writePublishedRecords } from '../versioned/published.js';
import { uploadStateVersion } from '../versioned/transfer.js';
import type { StagedState } from './fetch-state.js';

export interface PublishOptions {
  runtime: RetryRuntime;
  /** Longest the upload and its record may take together, in ms (`--timeout`). */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  now: () => Date;
}

export interface RecordedVersion {
  info: StateInfo;
  /** Past this moment (`performance.now()`), the version is no longer committed. */
  commitBy: number;
}

/**
 * The publish step of a versioned key: upload the staged state as a new immutable version, then
 * write its published record. Only then may a pointer name it: a version that a pointer names
 * always has its record, so prune never takes it for an orphan, and a record that cannot be
 * written fails the key before the pointer moves.
 *
 * Prune collects an unrecorded object once it is older than `ORPHAN_GRACE_MS`, and leaves a
 * recorded one alone for `RECORD_GRACE_MS`; so a record is not written for an upload that began
 * more than half the first ago, and a version recorded more than half the second ago is not
 * committed (timed on this machine's monotonic clock, which a paused process does not fool).
 */
export async function publishVersion(
  store: BlobStore,
  key: string,
  statePath: string,
  staged: StagedState,
  options: PublishOptions,
): Promise<RecordedVersion> {
  const { timeoutMs } = options;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const uploadStarted = performance.now();
  try {
    return await publish(store, key, statePath, staged, { ...options, signal }, uploadStarted);
  } catch (error) {
    if (!deadline.aborted || options.signal?.aborted) throw error;
    throw new TimeoutError(
      `The upload of "${key}" took longer than ${timeoutMs} ms and was stopped; nothing was committed for it.`,
      { cause: error, hint: 'Raise --timeout, or check the network to the store.' },
    );
  }
}

async function publish(
  store: BlobStore,
  key: string,
  statePath: string,
  { digest, bytes }: StagedState,
  options: PublishOptions,
  uploadStarted: number,
): Promise<RecordedVersion> {
  const { runtime, signal } = options;
  const info = await withRetry(
    () => uploadStateVersion(store, key, statePath, digest, { now: options.now(), signal, bytes }),
    { policy: STORE_RETRY_POLICY, runtime, signal },
  );
  if (performance.now() - uploadStarted > ORPHAN_GRACE_MS / 2) {
    throw new TransientError(
      `The upload of "${key}" took too long to be published safely (its object may be collected as an orphan).`,
      { hint: 'Nothing was committed for this key; run the refresh again.' },
    );
  }
  await writePublishedRecords(store, [info], { signal });
  return { info, commitBy: performance.now() + RECORD_GRACE_MS / 2 };
}
