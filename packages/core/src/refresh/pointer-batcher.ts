import type { RetryRuntime } from '../async/retry.js';
import type { StateInfo } from '../model/state-info.js';
import type { BlobStore } from '../store/blob-store.js';
import { writePublishedRecords } from '../versioned/published.js';
import { mergeNewer, updateStateInfo } from '../versioned/state-info-store.js';

interface Waiter {
  info: StateInfo;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers finished versions and moves the pointer for many keys in one compare-and-swap. A batch
 * opens with the first version and closes after `delayMs` or on `flush()`, so a run of 500 keys
 * writes the state info document a handful of times rather than 500 times, while keys that finish
 * early still become visible without waiting for the whole run. After each batch it writes the
 * versions' published records.
 */
export class PointerBatcher {
  #pending: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #writes = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly options: { delayMs: number; runtime?: RetryRuntime; now?: () => Date },
  ) {}

  /** Number of state info document writes so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Resolves once `info` is in the pointer; rejects if that batch's compare-and-swap failed. */
  commit(info: StateInfo): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ info, resolve, reject });
      this.#schedule(this.options.delayMs);
    });
  }

  /** Commits what is pending now and waits until nothing is left. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#running) {
      if (!this.#running) this.#run();
      await this.#running;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#timer || this.#running) return;
    this.#timer = setTimeout(() => this.#run(), delayMs);
  }

  #run(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending.splice(0);
    this.#running = (async () => {
      try {
        const { writes } = await updateStateInfo(
          this.store,
          mergeNewer(batch.map((waiter) => waiter.info)),
          {
            runtime: this.options.runtime,
            now: this.options.now,
          },
        );
        this.#writes += writes;
        // The pointer moved: record that these versions were finished, so that history and
        // rollback know them and prune never takes them for orphans. A record that fails to be
        // written is not a failed refresh; prune writes the missing record of a latest version.
        const infos = batch.map((waiter) => waiter.info);
        await writePublishedRecords(this.store, infos).catch(() => undefined);
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      } finally {
        this.#running = undefined;
        if (this.#pending.length > 0) this.#schedule(this.options.delayMs);
      }
    })();
  }
}
