import { DEFAULT_RETRY_POLICY, withRetry } from '../async/retry.js';
import { StateNotFoundError, UsageError } from '../errors.js';
import type { StateInfo } from '../model/state-info.js';
import { StateVersionSchema } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { stateObjectName } from '../versioned/layout.js';
import { readPublishedRecord } from '../versioned/published.js';
import { readStateInfo, updateStateInfo } from '../versioned/state-info-store.js';

export interface RollbackResult {
  /** The pointer's entry before the rollback. */
  previous?: StateInfo;
  /** The entry it holds now. */
  current: StateInfo;
  /** Writes of the state info document (0 when the version was already latest). */
  writes: number;
}

/**
 * Moves a versioned key's latest pointer back to an earlier published version, by the same
 * compare-and-swap refreshes use: the change re-applies to whatever the document holds when the
 * write lands, so concurrent refreshes of other keys are never lost. A refresh of this key that
 * finishes afterwards moves the pointer forward again, as it should.
 */
export async function rollbackState(
  store: BlobStore,
  key: string,
  version: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<RollbackResult> {
  if (!StateVersionSchema.safeParse(version).success) {
    throw new UsageError(`"${version}" is not a state version.`, {
      hint: 'Versions look like 20261127T101530123Z-3f9a1c0b7d2e; `defstate history <key>` lists them.',
    });
  }
  const retry = { policy: DEFAULT_RETRY_POLICY, signal };
  const object = stateObjectName(key, version);
  const [record, { document }, present] = await Promise.all([
    readPublishedRecord(store, key, version, { signal }),
    withRetry(() => readStateInfo(store, { signal }), retry),
    withRetry(() => store.head(object, { signal }), retry),
  ]);
  const previous = document.keys[key];
  const target = record ?? (previous?.version === version ? previous : undefined);
  if (!target || !present) {
    const message = !present
      ? target
        ? `Version ${version} of "${key}" was just deleted.`
        : `"${key}" has no version ${version} in ${store.location}.`
      : `Version ${version} of "${key}" was uploaded by a refresh that never finished; it cannot be made latest.`;
    throw new StateNotFoundError(key, message, {
      hint: `\`defstate history ${JSON.stringify(key)}\` lists the versions you can roll back to.`,
    });
  }
  let replaced = previous;
  const update = await updateStateInfo(
    store,
    (current) => {
      replaced = current.keys[key];
      current.keys[key] = target;
      return current;
    },
    { signal },
  );
  // A prune that read the pointer before this rollback may have deleted the version since the
  // check above. Then latest names nothing: say so loudly rather than report success.
  if (!(await withRetry(() => store.head(object, { signal }), retry))) {
    throw new StateNotFoundError(
      key,
      `Version ${version} of "${key}" was deleted while rolling back to it; latest now names a missing version.`,
      {
        hint: 'Roll back to another version, or refresh the key. Do not prune while rolling back.',
      },
    );
  }
  return { ...(replaced ? { previous: replaced } : {}), current: target, writes: update.writes };
}
