import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { StateNotFoundError, UsageError } from '../errors.js';
import type { StateInfo } from '../model/state-info.js';
import { isStateVersion } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { stateObjectName } from '../versioned/layout.js';
import { withMaintenanceLease } from '../versioned/lease.js';
import { readPointer } from '../versioned/pointer.js';
import type { PointerOutcome } from '../versioned/pointer-update.js';
import { prepareStoreForWrites, updatePointer } from '../versioned/pointer-writer.js';
import { readPublishedRecord } from '../versioned/published.js';

export interface RollbackResult {
  /** The pointer's entry before the rollback. */
  previous?: StateInfo;
  /** The entry it holds now; its generation is the commit the rollback made. */
  current: StateInfo;
  /** Writes of the pointer (0 when the version was already latest). */
  writes: number;
}

export interface RollbackOptions {
  signal?: AbortSignal;
  /** For the maintenance lease: how long to wait for another holder, in ms. */
  leaseWaitMs?: number;
}

/**
 * Moves a versioned key's latest pointer back to an earlier published version. It holds the
 * store's maintenance lease, so no prune can delete the version between the check that it exists
 * and the compare-and-swap that makes it latest; the swap itself re-applies to whatever the key's
 * shard holds when it lands, so concurrent refreshes of other keys are never lost. A refresh of
 * this key that finishes afterwards moves the pointer forward again, as it should.
 */
export async function rollbackState(
  store: BlobStore,
  key: string,
  version: string,
  { signal, leaseWaitMs }: RollbackOptions = {},
): Promise<RollbackResult> {
  if (!isStateVersion(version)) {
    throw new UsageError(`"${version}" is not a state version.`, {
      hint: 'Versions look like 20261127T101530123Z-3f9a1c0b7d2e; `defstate history <key>` lists them.',
    });
  }
  await prepareStoreForWrites(store, { signal });
  return withMaintenanceLease(
    store,
    {
      operation: 'rollback',
      signal,
      ...(leaseWaitMs !== undefined ? { waitMs: leaseWaitMs } : {}),
    },
    async (lease) => {
      const retry = { policy: STORE_RETRY_POLICY, signal };
      const [record, { entries }, present] = await Promise.all([
        readPublishedRecord(store, key, version, { signal }),
        readPointer(store, { keys: [key], signal }),
        withRetry(() => store.head(stateObjectName(key, version), { signal }), retry),
      ]);
      const previous = entries.get(key);
      const target = record ?? (previous?.version === version ? previous : undefined);
      if (!target || !present) {
        const message = !present
          ? target
            ? `Version ${version} of "${key}" is gone from ${store.location} (pruned).`
            : `"${key}" has no version ${version} in ${store.location}.`
          : `Version ${version} of "${key}" was uploaded by a refresh that never finished; it cannot be made latest.`;
        throw new StateNotFoundError(key, message, {
          hint: `\`defstate history ${JSON.stringify(key)}\` lists the versions you can roll back to.`,
        });
      }
      lease.assertHeld();
      const [settled] = (await updatePointer(
        store,
        [
          {
            key,
            decide: (current) =>
              current?.version === version
                ? { action: 'keep' as const, result: current }
                : { action: 'set' as const, info: target, result: current },
          },
        ],
        { signal },
      )) as [PromiseSettledResult<PointerOutcome<StateInfo | undefined>>];
      if (settled.status === 'rejected') throw settled.reason;
      const { result: replaced, entry, written } = settled.value;
      return {
        ...(replaced ? { previous: replaced } : {}),
        current: entry ?? target,
        writes: written ? 1 : 0,
      };
    },
  );
}
