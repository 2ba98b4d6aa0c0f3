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

const RACE_BACKOFF = { retries: 0, baseDelayMs: 10, maxDelayMs: 2_000 };
const THROTTLE_BACKOFF = { retries: 0, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Shards whose compare-and-swap is in flight at once, per call. */
const SHARD_CONCURRENCY = 4;

/**
 * Applies `changes` to the shards of a store whose pointer is spread over `shards` documents.
 * Each change settles on its own: a shard that cannot be written fails only its own changes.
 *
 * Shards are taken in a random order, a few at a time, and a shard that lost its race goes to the
 * back of the queue, to be tried again after its backoff while the others proceed. So many
 * writers that all touch every shard spread over them instead of all queueing on the same one, and
 * a writer waits only when every shard it has left is backing off.
 */
export async function applyPointerChanges<R>(
  store: BlobStore,
  shards: number,
  changes: readonly PointerChange<R>[],
  options: UpdatePointerOptions = {},
): Promise<PromiseSettledResult<PointerOutcome<R>>[]> {
  const { runtime = systemRuntime, signal } = options;
  const byShard = new Map<number, number[]>();
  for (const [index, change] of changes.entries()) {
    const shard = shardOf(change.key, shards);
    byShard.set(shard, [...(byShard.get(shard) ?? []), index]);
  }
  const settled: PromiseSettledResult<PointerOutcome<R>>[] = new Array(changes.length);
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_POINTER_TIMEOUT_MS);
  const queue = shuffle(
    [...byShard].map(
      ([shard, indexes]) =>
        new ShardCommit(
          store,
          shard,
          indexes,
          indexes.map((index) => changes[index] as PointerChange<R>),
          options,
          deadline,
        ),
    ),
    runtime.random,
  );
  const settle = (commit: ShardCommit<R>, result: PromiseSettledResult<PointerOutcome<R>[]>) => {
    for (const [position, index] of commit.indexes.entries()) {
      settled[index] =
        result.status === 'fulfilled'
          ? { status: 'fulfilled', value: result.value[position] as PointerOutcome<R> }
          : result;
    }
  };
  const worker = async () => {
    for (;;) {
      // The shard whose backoff ends first; wait for it only if nothing else is ready.
      queue.sort((a, b) => a.readyAt - b.readyAt);
      const commit = queue.shift();
      if (!commit) return;
      const wait = commit.readyAt - performance.now();
      try {
        if (wait > 0) await runtime.sleep(wait, signal);
        const outcome = await commit.attempt();
        if (outcome) settle(commit, { status: 'fulfilled', value: outcome });
        else queue.push(commit);
      } catch (error) {
        settle(commit, {
          status: 'rejected',
          reason: signal?.aborted
            ? new AbortedError(
                `Stopped while moving the pointer ${pointerShardName(commit.shard)}.`,
                {
                  cause: error,
                },
              )
            : error,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SHARD_CONCURRENCY, queue.length) }, worker));
  return settled;
}

/** What one attempt wrote, remembered when its answer was lost. */
type Attempt<R> = Array<{ decision: PointerDecision<R>; entry: PointerEntry | undefined }>;

/** One shard's compare-and-swap, attempt by attempt. */
class ShardCommit<R> {
  /** When the next attempt may start (`performance.now()` time). */
  readyAt = 0;
  #races = 0;
  #throttles = 0;
  // A write whose answer never came may have landed: if the shard now holds exactly what it
  // wrote, it did, and the change is reported as written rather than decided afresh.
  #unanswered: Attempt<R> | undefined;

  constructor(
    private readonly store: BlobStore,
    readonly shard: number,
    readonly indexes: readonly number[],
    private readonly changes: readonly PointerChange<R>[],
    private readonly options: UpdatePointerOptions,
    private readonly deadline: number,
  ) {}

  /** Reads, decides and writes once: the outcomes, or `undefined` to be tried again later. */
  async attempt(): Promise<PointerOutcome<R>[] | undefined> {
    const { store, changes, options } = this;
    const { signal } = options;
    const name = pointerShardName(this.shard);
    if (signal?.aborted) throw new AbortedError(`Stopped while moving the pointer ${name}.`);
    let snapshot: Awaited<ReturnType<typeof readShard>>;
    try {
      snapshot = await readShard(store, this.shard, { signal });
    } catch (error) {
      return this.#later(error, THROTTLE_BACKOFF);
    }
    const document = structuredClone(snapshot.document);
    const unanswered = this.#unanswered;
    const decided: Attempt<R> = changes.map((change, index) => {
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
      options.onWrite?.(this.shard, Buffer.byteLength(body));
      return outcomes(changes, decided, undefined, true);
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        this.#unanswered = undefined;
        if (performance.now() > this.deadline) throw conflict(store, name, this.#races, error);
        return this.#later(undefined, RACE_BACKOFF);
      }
      this.#unanswered = decided;
      return this.#later(error, THROTTLE_BACKOFF);
    }
  }

  /** Schedules another attempt after a backoff, unless the error is not worth it or time is up. */
  #later(error: unknown, policy: typeof RACE_BACKOFF): undefined {
    if (error !== undefined && (!isTransient(error) || performance.now() > this.deadline)) {
      throw error;
    }
    const step = policy === RACE_BACKOFF ? this.#races++ : this.#throttles++;
    const random = this.options.runtime?.random ?? Math.random;
    const delayMs = backoffDelay(Math.min(step, 16), policy, random);
    this.readyAt = Math.min(this.deadline, performance.now() + delayMs);
    return undefined;
  }
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
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
