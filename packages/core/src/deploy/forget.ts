import type { StateInfo } from '../model/state-info.js';
import type { BlobStore } from '../store/blob-store.js';
import { withMaintenanceLease } from '../versioned/lease.js';
import type { PointerOutcome } from '../versioned/pointer-update.js';
import { prepareStoreForWrites, updatePointer } from '../versioned/pointer-writer.js';

export interface ForgottenKey {
  key: string;
  /** `forgotten`: its entry was moved out of the pointer; `absent`: the pointer had none. */
  status: 'forgotten' | 'absent';
  /** The entry it had, when it had one. */
  previous?: StateInfo;
}

export interface ForgetOptions {
  signal?: AbortSignal;
  /** For the maintenance lease: how long to wait for another holder, in ms. */
  leaseWaitMs?: number;
}

/**
 * Moves keys out of the latest pointer, for keys a project no longer declares. It holds the
 * maintenance lease, as whatever moves latest away does, so it never interleaves with a prune or
 * a rollback; the removal itself is the pointer's compare-and-swap, so refreshes of other keys in
 * the same shard are never lost. Versions stay in the store, and pins that name them still load,
 * until `prune` collects them. A refresh of a forgotten key brings it back.
 */
export async function forgetState(
  store: BlobStore,
  keys: readonly string[],
  { signal, leaseWaitMs }: ForgetOptions = {},
): Promise<ForgottenKey[]> {
  await prepareStoreForWrites(store, { signal });
  return withMaintenanceLease(
    store,
    {
      operation: 'forget',
      signal,
      ...(leaseWaitMs !== undefined ? { waitMs: leaseWaitMs } : {}),
    },
    async (lease) => {
      lease.assertHeld();
      const removed = await removeFromPointer(store, keys, { signal });
      return keys.map((key) => {
        const previous = removed.get(key);
        return previous ? { key, status: 'forgotten', previous } : { key, status: 'absent' };
      });
    },
  );
}

/**
 * Removes each key's entry from the pointer, for a caller that holds the maintenance lease. With
 * `onlyVersion`, a key is removed only while its entry is still that version: one that a refresh
 * moved on meanwhile is in use, and stays. Returns the entries removed, by key.
 */
export async function removeFromPointer(
  store: BlobStore,
  keys: readonly string[],
  { signal, onlyVersion }: { signal?: AbortSignal; onlyVersion?: ReadonlyMap<string, string> } = {},
): Promise<Map<string, StateInfo>> {
  const settled = (await updatePointer(
    store,
    keys.map((key) => ({
      key,
      decide: (current) => {
        const wanted = onlyVersion?.get(key);
        if (!current || (wanted !== undefined && current.version !== wanted)) {
          return { action: 'keep' as const, result: undefined };
        }
        return { action: 'remove' as const, result: current as StateInfo };
      },
    })),
    { signal },
  )) as PromiseSettledResult<PointerOutcome<StateInfo | undefined>>[];
  const removed = new Map<string, StateInfo>();
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason;
    const { key, result: previous, written } = result.value;
    if (written && previous) removed.set(key, previous);
  }
  return removed;
}
