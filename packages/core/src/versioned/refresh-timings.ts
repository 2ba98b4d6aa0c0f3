import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay, STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { BlobNotFoundError, isTransient, PreconditionFailedError } from '../errors.js';
import { RefreshTimingsSchema } from '../model/shard-records.js';
import { type BlobStore, readText } from '../store/blob-store.js';
import { REFRESH_TIMINGS_OBJECT } from './layout.js';

/**
 * Each key's last refresh duration, kept by the store in one small document so that every shard
 * of a CI matrix can balance its partition by it. It is a hint, not state: one that is missing
 * or damaged gives no durations, and a write that keeps losing its race is given up — neither
 * ever fails a refresh.
 */
export async function readRefreshTimings(
  store: BlobStore,
  { signal }: { signal?: AbortSignal } = {},
): Promise<Map<string, number>> {
  const found = await readTimings(store, signal).catch(() => undefined);
  return new Map(Object.entries(found?.keys ?? {}));
}

/** Attempts at the compare-and-swap before giving up: losing only costs the next plan's balance. */
const ATTEMPTS = 8;
const BACKOFF = { retries: 0, baseDelayMs: 50, maxDelayMs: 1_000 };

/**
 * Merges `durations` (ms, by key) into the document by compare-and-swap, create-only for the
 * first, so that shards finishing together each add their keys and lose none of the others'.
 * Returns whether it was written; never throws.
 */
export async function recordRefreshTimings(
  store: BlobStore,
  durations: ReadonlyMap<string, number>,
  { signal }: { signal?: AbortSignal } = {},
): Promise<boolean> {
  if (durations.size === 0) return false;
  for (let attempt = 0; attempt < ATTEMPTS && !signal?.aborted; attempt++) {
    try {
      const current = await readTimings(store, signal);
      const keys: Record<string, number> = { ...current?.keys };
      for (const [key, ms] of durations) keys[key] = Math.round(ms);
      await store.put(REFRESH_TIMINGS_OBJECT, `${JSON.stringify({ schemaVersion: 1, keys })}\n`, {
        ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
        contentType: 'application/json',
        signal,
      });
      return true;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) && !isTransient(error)) return false;
      await delay(backoffDelay(attempt, BACKOFF, Math.random));
    }
  }
  return false;
}

/** The document's durations and etag; a damaged one has no durations (it is replaced). */
async function readTimings(
  store: BlobStore,
  signal: AbortSignal | undefined,
): Promise<{ keys: Record<string, number>; etag: string } | undefined> {
  let found: { text: string; etag: string };
  try {
    found = await withRetry(() => readText(store, REFRESH_TIMINGS_OBJECT, { signal }), {
      policy: STORE_RETRY_POLICY,
      signal,
    });
  } catch (error) {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  }
  const parsed = RefreshTimingsSchema.safeParse(safeJson(found.text));
  return { keys: parsed.success ? parsed.data.keys : {}, etag: found.etag };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
