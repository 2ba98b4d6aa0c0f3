import { createLimit } from '../async/limit.js';
import { backoffDelay, type RetryRuntime, systemRuntime } from '../async/retry.js';
import { AbortedError, ConflictError, isTransient, PreconditionFailedError } from '../errors.js';
import type { PointerEntry, PointerShard } from '../model/pointer.js';
import type { StateInfo } from '../model/state-info.js';
import type { BlobStore } from '../store/blob-store.js';
import { pointerShardName, shardOf } from './layout.js';
import { readShard } from './pointer.js';

/**
 * Moving the latest pointer. Each change looks at a key's current entry and decides: keep it,
 * set a new state, or remove the key. Changes are grouped by shard, and each shard moves by
 * compare-and-swap: read it, decide every change against what it holds, write it only if nobody
 * wrote since (`ifMatch`, or create-only for a new shard), and on a lost race read again and
 * decide again. So a decision is always made against the entry the winning write replaces, and
 * the store, not a clock, orders the commits: each `set` gets the previous generation + 1.
 *
 * Losing a race (412) and being throttled (429, 503: the store saying "too many writes to this
 * object") are both contention, not failure: the loop backs off and tries again until its
 * deadline, and only then gives up.
 */
export type PointerDecision<R> =
  | { action: 'keep'; result: R }
  | { action: 'set'; info: StateInfo; result: R }
  | { action: 'remove'; result: R };

export interface PointerChange<R> {
  key: string;
  /** Must be pure: it may be called again, against a newer entry, after a lost race. */
  decide(current: PointerEntry | undefined): PointerDecision<R>;
}

export interface PointerOutcome<R> {
  key: string;
  result: R;
  /** Whether this change wrote the key (`set` or `remove` landed). */
  written: boolean;
  /** The key's entry once the change applied (the new one after `set`, none after `remove`). */
  entry: PointerEntry | undefined;
}

export interface UpdatePointerOptions {
  signal?: AbortSignal;
  /** How long a shard may keep losing races or being throttled before `ConflictError`, in ms. */
  timeoutMs?: number;
  runtime?: RetryRuntime;
  /** Called after each write of a shard document; for counting. */
  onWrite?: (shard: number, bytes: number) => void;
}

export const DEFAULT_POINTER_TIMEOUT_MS = 10 * 60_000;

const RACE_BACKOFF = { retries: 0, baseDelayMs: 5, maxDelayMs: 250 };
const THROTTLE_BACKOFF = { retries: 0, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Applies `changes` to the shards of a store whose pointer is spread over `shards` documents.
 * Each change settles on its own: a shard that cannot be written fails only its own changes.
 */
export async function applyPointerChanges<R>(
  store: BlobStore,
  shards: number,
  changes: readonly PointerChange<R>[],
  options: UpdatePointerOptions = {},
): Promise<PromiseSettledResult<PointerOutcome<R>>[]> {
  const byShard = new Map<number, number[]>();
  for (const [index, change] of changes.entries()) {
    const shard = shardOf(change.key, shards);
    byShard.set(shard, [...(byShard.get(shard) ?? []), index]);
  }
  const settled: PromiseSettledResult<PointerOutcome<R>>[] = new Array(changes.length);
  const limit = createLimit(8);
  await Promise.all(
    [...byShard].map(([shard, indexes]) =>
      limit(async () => {
        try {
          const outcomes = await updateShard(
            store,
            shard,
            indexes.map((index) => changes[index] as PointerChange<R>),
            options,
          );
          for (const [position, index] of indexes.entries()) {
            settled[index] = {
              status: 'fulfilled',
              value: outcomes[position] as PointerOutcome<R>,
            };
          }
        } catch (error) {
          for (const index of indexes) settled[index] = { status: 'rejected', reason: error };
        }
      }),
    ),
  );
  return settled;
}

/** What one attempt wrote, remembered when its answer was lost. */
type Attempt<R> = Array<{ decision: PointerDecision<R>; entry: PointerEntry | undefined }>;

async function updateShard<R>(
  store: BlobStore,
  shard: number,
  changes: readonly PointerChange<R>[],
  options: UpdatePointerOptions,
): Promise<PointerOutcome<R>[]> {
  const { signal, runtime = systemRuntime, timeoutMs = DEFAULT_POINTER_TIMEOUT_MS } = options;
  const name = pointerShardName(shard);
  const deadline = performance.now() + timeoutMs;
  let races = 0;
  let throttles = 0;
  // A write whose answer never came may have landed: if the shard now holds exactly what it
  // wrote, it did, and the change is reported as written rather than decided afresh.
  let unanswered: Attempt<R> | undefined;
  for (;;) {
    if (signal?.aborted) throw new AbortedError(`Stopped while moving the pointer ${name}.`);
    let decided: Attempt<R>;
    let snapshot: Awaited<ReturnType<typeof readShard>>;
    try {
      snapshot = await readShard(store, shard, { signal });
    } catch (error) {
      if (!isTransient(error) || performance.now() > deadline) throw error;
      await pause(throttles++, THROTTLE_BACKOFF);
      continue;
    }
    const document = structuredClone(snapshot.document);
    decided = changes.map((change, index) => {
      const current = document.keys[change.key];
      const earlier = unanswered?.[index];
      if (earlier && earlier.decision.action !== 'keep' && sameEntry(current, earlier.entry)) {
        return earlier;
      }
      const decision = change.decide(current);
      return { decision, entry: applyDecision(document, change.key, current, decision) };
    });
    const writes = decided.some(
      ({ decision }, index) => decision.action !== 'keep' && decided[index] !== unanswered?.[index],
    );
    if (!writes) return outcomes(changes, decided, unanswered);
    const body = `${JSON.stringify(document)}\n`;
    try {
      await store.put(name, body, {
        ...(snapshot.etag === undefined
          ? { ifNoneMatch: '*' as const }
          : { ifMatch: snapshot.etag }),
        contentType: 'application/json',
        signal,
      });
      options.onWrite?.(shard, Buffer.byteLength(body));
      return outcomes(changes, decided, undefined, true);
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        unanswered = undefined;
        if (performance.now() > deadline) throw conflict(store, name, races, error);
        await pause(races++, RACE_BACKOFF);
        continue;
      }
      if (!isTransient(error) || performance.now() > deadline) throw error;
      unanswered = decided;
      await pause(throttles++, THROTTLE_BACKOFF);
    }
  }

  async function pause(step: number, policy: typeof RACE_BACKOFF): Promise<void> {
    const ceiling = Math.max(0, deadline - performance.now());
    const delayMs = Math.min(ceiling, backoffDelay(Math.min(step, 16), policy, runtime.random));
    try {
      await runtime.sleep(delayMs, signal);
    } catch (error) {
      throw new AbortedError(`Stopped while moving the pointer ${name}.`, { cause: error });
    }
  }
}

/** Applies one decision to the document and returns the key's entry afterwards. */
function applyDecision<R>(
  document: PointerShard,
  key: string,
  current: PointerEntry | undefined,
  decision: PointerDecision<R>,
): PointerEntry | undefined {
  if (decision.action === 'keep') return current;
  if (decision.action === 'remove') {
    delete document.keys[key];
    return undefined;
  }
  const { generation: _ignored, ...info } = decision.info;
  const entry: PointerEntry = { ...info, generation: (current?.generation ?? 0) + 1 };
  document.keys[key] = entry;
  return entry;
}

function outcomes<R>(
  changes: readonly PointerChange<R>[],
  decided: Attempt<R>,
  unanswered: Attempt<R> | undefined,
  landed = false,
): PointerOutcome<R>[] {
  return changes.map((change, index) => {
    const { decision, entry } = decided[index] as Attempt<R>[number];
    const recovered = unanswered !== undefined && decided[index] === unanswered[index];
    return {
      key: change.key,
      result: decision.result,
      written: decision.action !== 'keep' && (landed || recovered),
      entry,
    };
  });
}

function sameEntry(a: PointerEntry | undefined, b: PointerEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.version === b.version &&
    a.generation === b.generation &&
    a.sha256 === b.sha256 &&
    a.size === b.size &&
    a.createdAt === b.createdAt
  );
}

function conflict(store: BlobStore, name: string, races: number, cause: unknown): ConflictError {
  return new ConflictError(
    `The pointer ${store.location}/${name} kept changing: ${races} compare-and-swaps lost before the deadline.`,
    {
      cause,
      hint: 'Very many writers are committing to the same keys at once; run again. Nothing was lost.',
    },
  );
}
