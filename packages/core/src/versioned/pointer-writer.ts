import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { ConfigError, PreconditionFailedError, StorageError, TransientError } from '../errors.js';
import { POINTER_LAYOUT_VERSION } from '../model/document-checks.js';
import type { ConditionalWriteProof, LayoutManifest, LegacyPointerStub } from '../model/pointer.js';
import type { BlobStore } from '../store/blob-store.js';
import { DEFAULT_POINTER_SHARDS, LAYOUT_OBJECT, STATE_INFO_OBJECT } from './layout.js';
import { type MaintenanceLeaseOptions, withMaintenanceLease } from './lease.js';
import { discoverLayout, rememberLayout } from './pointer.js';
import {
  applyPointerChanges,
  type PointerChange,
  type PointerOutcome,
  type UpdatePointerOptions,
} from './pointer-update.js';
import { endpointOf, proveConditionalWrites } from './probe.js';

/**
 * Everything a process does before its first write to a store, once per store:
 * 1. prove that the store's conditional writes work (`probe.ts`), unless the manifest records a
 *    proof made through the same endpoint;
 * 2. bring the store to the current layout: a new store gets the stub `state-info.json` (which
 *    stops older versions from writing a pointer nobody reads) and then `layout.json`; a store of
 *    the first layout is upgraded in place under the maintenance lease.
 *
 * Order matters to readers: the shards are complete before the stub replaces the old document,
 * and the stub exists before the manifest, so at every moment a reader finds a whole pointer.
 */
export interface PrepareStoreOptions extends UpdatePointerOptions {
  /** For the upgrade's maintenance lease. */
  lease?: Partial<MaintenanceLeaseOptions>;
}

const prepared = new WeakMap<BlobStore, Promise<{ shards: number }>>();
const proven = new WeakMap<BlobStore, Promise<ConditionalWriteProof>>();

export function prepareStoreForWrites(
  store: BlobStore,
  options: PrepareStoreOptions = {},
): Promise<{ shards: number }> {
  let ready = prepared.get(store);
  if (!ready) {
    ready = prepare(store, options);
    prepared.set(store, ready);
    ready.catch(() => prepared.delete(store));
  }
  return ready;
}

/** Moves the latest pointer (see `pointer-update.ts`) after preparing the store for writes. */
export async function updatePointer<R>(
  store: BlobStore,
  changes: readonly PointerChange<R>[],
  options: PrepareStoreOptions = {},
): Promise<PromiseSettledResult<PointerOutcome<R>>[]> {
  const { shards } = await prepareStoreForWrites(store, options);
  return applyPointerChanges(store, shards, changes, options);
}

/** How long a create-only write of the layout may keep being throttled before it fails, in ms. */
const CREATE_DEADLINE_MS = 60_000;

async function prepare(
  store: BlobStore,
  options: PrepareStoreOptions,
): Promise<{ shards: number }> {
  const { signal } = options;
  let upgraded = false;
  for (let round = 0; round < 20; round++) {
    const layout = await discoverLayout(store, { signal });
    if (layout.kind === 'sharded' && layout.manifest) {
      const proof = layout.manifest.conditionalWrites;
      if ('waived' in proof || proof.endpoint !== endpointOf(store)) {
        await ensureProven(store, signal);
      }
      return { shards: layout.shards };
    }
    const proof = await ensureProven(store, signal);
    if (layout.kind === 'empty') {
      await createOnly(store, STATE_INFO_OBJECT, stub(DEFAULT_POINTER_SHARDS), signal);
    } else if (layout.kind === 'legacy') {
      await upgradeLegacyPointer(store, options);
      upgraded = true;
    } else {
      const manifest: LayoutManifest = {
        schemaVersion: POINTER_LAYOUT_VERSION,
        pointer: { shards: layout.shards, hash: 'sha256-u32be-mod' },
        createdAt: new Date().toISOString(),
        conditionalWrites: proof,
        ...(upgraded ? { upgradedFrom: 'state-info.json' as const } : {}),
      };
      if (await createOnly(store, LAYOUT_OBJECT, manifest, signal)) rememberLayout(store, manifest);
    }
  }
  throw new StorageError(
    `The layout of ${store.location} kept changing while it was being prepared.`,
    {
      hint: 'Something other than defstate is writing layout.json or state-info.json; check the store.',
    },
  );
}

/**
 * Moves a store of the first layout (one `state-info.json` for every key) to the sharded
 * pointer, under the maintenance lease. The shards are written first; then the old document is
 * replaced by the stub with a compare-and-swap. If an older version committed to the old document
 * in between, the swap fails, its commits are carried into the shards, and the swap is tried
 * again: nothing an older writer committed is lost, and readers see the old document until the
 * moment the stub replaces it.
 */
async function upgradeLegacyPointer(store: BlobStore, options: PrepareStoreOptions): Promise<void> {
  const { signal } = options;
  await withMaintenanceLease(
    store,
    { operation: 'upgrade', signal, ...options.lease },
    async (lease) => {
      for (;;) {
        lease.assertHeld();
        const layout = await discoverLayout(store, { signal });
        if (layout.kind !== 'legacy') return;
        const changes = Object.values(layout.document.keys).map(
          (info): PointerChange<undefined> => ({
            key: info.key,
            decide: (current) =>
              current?.version === info.version
                ? { action: 'keep', result: undefined }
                : { action: 'set', info, result: undefined },
          }),
        );
        const settled = await applyPointerChanges(store, DEFAULT_POINTER_SHARDS, changes, options);
        const failed = settled.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
        lease.assertHeld();
        try {
          // A lost answer retried finds the stub already there (412): the loop reads the layout
          // again and sees the upgrade done.
          await withRetry(
            () =>
              store.put(STATE_INFO_OBJECT, body(stub(DEFAULT_POINTER_SHARDS)), {
                ifMatch: layout.etag,
                contentType: 'application/json',
                signal,
              }),
            { policy: STORE_RETRY_POLICY, signal },
          );
          return;
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
        }
      }
    },
  );
}

function ensureProven(
  store: BlobStore,
  signal: AbortSignal | undefined,
): Promise<ConditionalWriteProof> {
  let proof = proven.get(store);
  if (!proof) {
    proof = (async (): Promise<ConditionalWriteProof> => {
      const endpoint = endpointOf(store);
      try {
        // Each of the probe's requests is retried on its own (probe.ts).
        await proveConditionalWrites(store, { signal });
        return { endpoint, verifiedAt: new Date().toISOString() };
      } catch (error) {
        const waived = acceptsLostUpdates() || waivedStores.has(store);
        if (!(error instanceof ConfigError) || !waived) throw error;
        process.emitWarning(
          `${error.message.split('\n')[0]} Writing anyway: lost updates are accepted for this store.`,
          { code: 'DEFSTATE_LOST_UPDATES_ACCEPTED' },
        );
        return { waived: true, endpoint, at: new Date().toISOString() };
      }
    })();
    proven.set(store, proof);
    proof.catch(() => proven.delete(store));
  }
  return proof;
}

const waivedStores = new WeakSet<BlobStore>();

/**
 * Accepts lost updates for this store, as `accept_lost_updates: true` in defstate.yaml does:
 * a failed proof of its conditional writes is a warning, not a refusal.
 */
export function acceptLostUpdatesFor(store: BlobStore): void {
  waivedStores.add(store);
}

/** The documented opt-out for stores that cannot prove their conditional writes. */
export function acceptsLostUpdates(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.DEFSTATE_ACCEPT_LOST_UPDATES?.toLowerCase();
  return value === '1' || value === 'true' || value === 'yes';
}

function stub(shards: number): LegacyPointerStub {
  return {
    schemaVersion: POINTER_LAYOUT_VERSION,
    movedTo: 'layout.json',
    shards,
    note: 'This store keeps its latest pointer in pointer layout 2 (layout.json and pointer/). Upgrade defstate to read or write it.',
  };
}

function body(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Creates an object unless it exists; `true` when this call created it. */
async function createOnly(
  store: BlobStore,
  name: string,
  document: unknown,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const retry = { policy: STORE_RETRY_POLICY, signal };
  const deadline = Date.now() + CREATE_DEADLINE_MS;
  for (;;) {
    try {
      // A retry after a lost answer may find the object its own first try created: `false` then,
      // which is as good, since every caller reads what is there next.
      await withRetry(
        () =>
          store.put(name, body(document), {
            ifNoneMatch: '*',
            contentType: 'application/json',
            signal,
          }),
        retry,
      );
      return true;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return false;
      // Many writers preparing an empty store at once create the same objects, and a store that
      // allows one mutation per second per object (GCS) throttles all but one of them for longer
      // than a retry lasts. Throttling is contention: once the object is there, another writer
      // created it, which is as good as a lost race; until then, try again up to a deadline.
      if (!(error instanceof TransientError) || Date.now() > deadline) throw error;
      if (await withRetry(() => store.head(name, { signal }), retry)) return false;
    }
  }
}
