import type { RetryRuntime } from '../async/retry.js';
import { StorageError, TransientError } from '../errors.js';
import type { Digest } from '../fs/hash-file.js';
import type { StateInfo } from '../model/state-info.js';
import type { BlobStore } from '../store/blob-store.js';
import { readPointer } from '../versioned/pointer.js';
import type { PointerChange } from '../versioned/pointer-update.js';
import { updatePointer } from '../versioned/pointer-writer.js';

/**
 * What the pointer said when a key's result was decided. `refreshed`: this run's version became
 * latest (`info` carries its generation). `unchanged`: the latest version already had this
 * content (`info` is that version). `needs-upload`: the content changed since the run began, and
 * the run had not uploaded it, so it must upload a version and publish that.
 */
export type CommitOutcome = PublishOutcome | { status: 'needs-upload' };
export type PublishOutcome = { status: 'refreshed' | 'unchanged'; info: StateInfo };

interface Pending {
  kind: 'publish' | 'confirm';
  key: string;
  /** `publish`: the uploaded and recorded version. */
  info?: StateInfo;
  digest: Digest;
  /** `publish`: a version recorded longer ago than this may already be pruned: not committed. */
  expiresAt?: number;
  resolve: (outcome: CommitOutcome) => void;
  reject: (error: unknown) => void;
}

export interface PointerBatcherOptions {
  /** How long a batch gathers before it is committed, in ms. */
  delayMs: number;
  /** How long a shard may keep losing races or being throttled before its keys fail, in ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  runtime?: RetryRuntime;
}

/**
 * Gathers the keys whose refresh finished and decides their results together, against the
 * pointer as it is at that moment, not as it was when the run started:
 * - `publish` a version this run uploaded: it becomes latest by compare-and-swap, unless the
 *   latest version has the same content by then (then the key is unchanged);
 * - `confirm` content that the run's first read said was latest: a fresh read of the key's shard
 *   says whether it still is (unchanged), or whether it must be uploaded after all.
 * A batch opens with its first key and closes after `delayMs` or on `flush()`, so 500 keys cost a
 * few writes per shard, while keys that finish early become visible without waiting for the run.
 */
export class PointerBatcher {
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #writes = 0;
  #bytes = 0;
  /** Once no more keys are coming, a batch no longer waits to gather. */
  #draining = false;

  constructor(
    private readonly store: BlobStore,
    private readonly options: PointerBatcherOptions,
  ) {}

  /** Writes of pointer shard documents so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Bytes of pointer shard documents written so far. */
  get bytesWritten(): number {
    return this.#bytes;
  }

  publish(info: StateInfo, digest: Digest, expiresAt: number): Promise<PublishOutcome> {
    // A publish resolves only with `refreshed` or `unchanged` (see #publish).
    return this.#enqueue({
      kind: 'publish',
      key: info.key,
      info,
      digest,
      expiresAt,
    }) as Promise<PublishOutcome>;
  }

  confirm(key: string, digest: Digest): Promise<CommitOutcome> {
    return this.#enqueue({ kind: 'confirm', key, digest });
  }

  /**
   * Says that every key has either been committed or is waiting here: commit the pending batch
   * now, and from now on commit whatever comes without waiting for more.
   */
  drain(): void {
    this.#draining = true;
    if (this.#pending.length > 0 && !this.#running) this.#run();
  }

  /** Commits what is pending now and waits until nothing is left. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#running) {
      if (!this.#running) this.#run();
      await this.#running;
    }
  }

  #enqueue(item: Omit<Pending, 'resolve' | 'reject'>): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ...item, resolve, reject });
      if (!this.#timer && !this.#running) {
        this.#timer = setTimeout(() => this.#run(), this.#draining ? 0 : this.options.delayMs);
      }
    });
  }

  #run(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending.splice(0);
    this.#running = (async () => {
      try {
        await Promise.all([
          this.#confirm(batch.filter((item) => item.kind === 'confirm')),
          this.#publish(batch.filter((item) => item.kind === 'publish')),
        ]);
      } finally {
        this.#running = undefined;
        if (this.#pending.length > 0) {
          this.#timer = setTimeout(() => this.#run(), this.#draining ? 0 : this.options.delayMs);
        }
      }
    })();
  }

  /** One read of the shards these keys are in: the moment each result is true. */
  async #confirm(items: Pending[]): Promise<void> {
    if (items.length === 0) return;
    try {
      const { entries } = await readPointer(this.store, {
        keys: items.map((item) => item.key),
        signal: this.options.signal,
      });
      for (const item of items) {
        const current = entries.get(item.key);
        item.resolve(
          current && sameContent(current, item.digest)
            ? { status: 'unchanged', info: current }
            : { status: 'needs-upload' },
        );
      }
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }

  async #publish(items: Pending[]): Promise<void> {
    if (items.length === 0) return;
    type Result = { status: 'refreshed' | 'unchanged' } | { status: 'expired' };
    const changes = items.map(
      (item): PointerChange<Result> => ({
        key: item.key,
        decide: (current) => {
          const info = item.info as StateInfo;
          // After a write whose answer was lost, the version may already be there: it is ours.
          if (current?.version === info.version)
            return { action: 'keep', result: { status: 'refreshed' } };
          if (current && sameContent(current, item.digest)) {
            return { action: 'keep', result: { status: 'unchanged' } };
          }
          if (performance.now() > (item.expiresAt ?? Number.POSITIVE_INFINITY)) {
            return { action: 'keep', result: { status: 'expired' } };
          }
          return { action: 'set', info, result: { status: 'refreshed' } };
        },
      }),
    );
    let settled: Awaited<ReturnType<typeof updatePointer<Result>>>;
    try {
      settled = await updatePointer(this.store, changes, {
        signal: this.options.signal,
        ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
        runtime: this.options.runtime,
        onWrite: (_shard, bytes) => {
          this.#writes++;
          this.#bytes += bytes;
        },
      });
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    for (const [index, item] of items.entries()) {
      const result = settled[index] as (typeof settled)[number];
      if (result.status === 'rejected') {
        item.reject(result.reason);
      } else if (result.value.result.status === 'expired') {
        item.reject(expired(item.key));
      } else if (result.value.entry) {
        item.resolve({ status: result.value.result.status, info: result.value.entry });
      } else {
        item.reject(
          new StorageError(`The pointer lost "${item.key}" while it was being committed.`),
        );
      }
    }
  }
}

export function sameContent(info: StateInfo | undefined, digest: Digest): info is StateInfo {
  return info !== undefined && info.sha256 === digest.sha256 && info.size === digest.size;
}

function expired(key: string): Error {
  return new TransientError(
    `The version of "${key}" was recorded too long ago to be made latest safely: a prune may have collected it meanwhile.`,
    { hint: 'Nothing was committed for this key; run the refresh again.' },
  );
}
