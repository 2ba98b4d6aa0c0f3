import { hash } from 'node:crypto';
import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { BlobNotFoundError, PreconditionFailedError, StorageError } from '../errors.js';
import { parseJsonDocument } from '../model/json-document.js';
import { type ShardPlanDocument, ShardPlanDocumentSchema } from '../model/shard-records.js';
import { partitionKeys, type ShardSpec } from '../project/shard.js';
import { type BlobStore, listAll, readText } from '../store/blob-store.js';
import { SHARD_PLANS_PREFIX } from '../versioned/layout.js';
import { readRefreshTimings } from '../versioned/refresh-timings.js';

/**
 * The partition that the shards of one CI run share. Balancing by durations is only safe if
 * every shard partitions with the same durations, and a shard that finishes records new ones
 * before a shard that was queued behind it has started. So the first shard of a run to plan
 * writes the whole partition to the store, create-only, under a name made of the run's id, the
 * shard total and the selected keys; every other shard reads it, and a re-run of a failed shard
 * reads it again and gets the same keys. Without a run id or a store there is nothing to share a
 * plan through: the partition is then by count alone, which needs no agreement.
 */
export interface ShardPlan {
  /** This shard's keys, in the order they were selected. */
  keys: string[];
  index: number;
  total: number;
  /** How many keys all the shards share. */
  selected: number;
  balancedBy: 'durations' | 'count';
  /** The stored plan's id, when the shards share one through the store. */
  planId?: string;
  /** `created`: this shard wrote the plan; `shared`: another did; `local`: none is stored. */
  source: 'created' | 'shared' | 'local';
}

export interface PlanShardOptions {
  /** The store the plan and the durations are kept in; none for a project of local keys. */
  store?: BlobStore;
  /** The CI run's id (`shardRunId()`); without one, the partition is by count. */
  runId?: string;
  signal?: AbortSignal;
}

export async function planShard(
  selected: readonly string[],
  spec: ShardSpec,
  { store, runId, signal }: PlanShardOptions = {},
): Promise<ShardPlan> {
  const { index, total } = spec;
  const base = { index, total, selected: selected.length };
  if (!store || !runId || total === 1) {
    const shards = partitionKeys(selected, total);
    return { ...base, keys: shards[index - 1] ?? [], balancedBy: 'count', source: 'local' };
  }
  const sorted = [...new Set(selected)].sort();
  const id = hash('sha256', JSON.stringify({ run: runId, total, keys: sorted }), 'hex').slice(
    0,
    32,
  );
  const name = `${SHARD_PLANS_PREFIX}${id}.json`;
  const retry = { policy: STORE_RETRY_POLICY, signal };
  let document = await withRetry(() => readPlan(store, name, signal), retry);
  let source: ShardPlan['source'] = 'shared';
  if (!document) {
    const weights = await readRefreshTimings(store, { signal });
    const known = sorted.filter((key) => weights.has(key)).length;
    const planned: ShardPlanDocument = {
      schemaVersion: 1,
      id,
      run: runId,
      total,
      balancedBy: known > 0 ? 'durations' : 'count',
      createdAt: new Date().toISOString(),
      shards: partitionKeys(sorted, total, weights),
    };
    try {
      await withRetry(
        () =>
          store.put(name, `${JSON.stringify(planned)}\n`, {
            ifNoneMatch: '*',
            contentType: 'application/json',
            signal,
          }),
        retry,
      );
      document = planned;
      source = 'created';
    } catch (error) {
      // Another shard of the run planned first: its plan is the one.
      if (!(error instanceof PreconditionFailedError)) throw error;
      document = await withRetry(() => readPlan(store, name, signal), retry);
      if (!document) throw new StorageError(`The shard plan ${store.location}/${name} vanished.`);
    }
  }
  checkPlan(document, sorted, total, `${store.location}/${name}`);
  const mine = new Set(document.shards[index - 1]);
  return {
    ...base,
    keys: selected.filter((key) => mine.has(key)),
    balancedBy: document.balancedBy,
    planId: id,
    source,
  };
}

async function readPlan(
  store: BlobStore,
  name: string,
  signal: AbortSignal | undefined,
): Promise<ShardPlanDocument | undefined> {
  try {
    const { text } = await readText(store, name, { signal });
    return parseJsonDocument(text, ShardPlanDocumentSchema, {
      name: `The shard plan ${store.location}/${name}`,
      mismatch: 'is not valid',
      badJsonHint: 'Delete it and run the shards again.',
      mismatchHint: 'Upgrade defstate if a newer version wrote it; otherwise delete it.',
    });
  } catch (error) {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  }
}

/** A plan must cover exactly the selected keys, each once: its name says so, but check. */
function checkPlan(
  document: ShardPlanDocument,
  keys: readonly string[],
  total: number,
  where: string,
) {
  const planned = document.shards.flat();
  const plannedSet = new Set(planned);
  const same =
    document.total === total &&
    document.shards.length === total &&
    planned.length === keys.length &&
    plannedSet.size === keys.length &&
    keys.every((key) => plannedSet.has(key));
  if (!same) {
    throw new StorageError(`The shard plan ${where} does not cover the selected keys once each.`, {
      hint: 'It was changed by something other than defstate: delete it and run the shards again.',
    });
  }
}

/** How long a plan is kept: longer than any CI run and its re-runs. */
export const SHARD_PLAN_TTL_MS = 7 * 86_400_000;

/** Deletes plans older than `SHARD_PLAN_TTL_MS` by the store's clock `nowMs`; returns how many. */
export async function removeStaleShardPlans(
  store: BlobStore,
  nowMs: number,
  { signal }: { signal?: AbortSignal } = {},
): Promise<number> {
  const stale: string[] = [];
  await withRetry(
    async () => {
      stale.length = 0;
      for await (const item of listAll(store, SHARD_PLANS_PREFIX, { signal })) {
        const at = item.lastModified?.getTime();
        if (at !== undefined && nowMs - at > SHARD_PLAN_TTL_MS) stale.push(item.name);
      }
    },
    { policy: STORE_RETRY_POLICY, signal },
  );
  for (const name of stale) {
    await withRetry(() => store.delete(name, { signal }), { policy: STORE_RETRY_POLICY, signal });
  }
  return stale.length;
}
