import { randomBytes } from 'node:crypto';
import { type RetryPolicy, withRetry } from '../async/retry.js';
import { ConfigError, PreconditionFailedError } from '../errors.js';
import type { BlobStore, OperationOptions } from '../store/blob-store.js';
import { readText } from '../store/blob-store.js';
import { PROBE_PREFIX } from './layout.js';

/**
 * The probe writes one object four times in a row, and a store that allows one mutation per
 * second to an object (Cloud Storage) refuses all but the first with 429. The store's usual short
 * backoffs could spend every retry inside that second; these never wait less than a second, so
 * a throttled step waits the limit out. A store is proven once per endpoint, so the longer wait
 * after a dropped connection costs little.
 */
const PROBE_RETRY_POLICY: RetryPolicy = {
  retries: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
  minDelayMs: 1_100,
};

/**
 * Proves, with real writes, that a store honours the two conditions the protocol stands on. A
 * store can claim them and not keep them: an S3-compatible server or a proxy that drops
 * `If-None-Match` / `If-Match` accepts every write, and two refreshes then overwrite each other
 * without a word. So before a process first writes to a store, it writes a probe object and checks
 * that a create-only put over it fails, that a put with its etag succeeds, and that a put with a
 * stale etag fails.
 *
 * Each step is retried on its own when the request fails for a moment (a reset, a 503, or the
 * 429 of a store that allows one write per second to an object), and a retried write that finds
 * its own earlier try landed is told apart by the probe's unique content: only a write that had
 * to fail and did not is a refusal.
 */
export async function proveConditionalWrites(
  store: BlobStore,
  { signal }: OperationOptions = {},
): Promise<void> {
  const token = randomBytes(8).toString('hex');
  const name = `${PROBE_PREFIX}${token}`;
  const content = (step: string) => `defstate probe ${token}: ${step}`;
  const retried = <T>(operation: () => Promise<T>) =>
    withRetry(operation, { policy: PROBE_RETRY_POLICY, signal });
  const refuse = (what: string) =>
    new ConfigError(
      `The store ${store.location} (requests to ${endpointOf(store)}) ignores ${what}: it accepted a write that had to fail. Two refreshes at once would silently overwrite each other, so defstate will not write to it.`,
      { field: 'state_storage' },
      {
        hint: 'Use a store (or a proxy) that passes If-None-Match and If-Match through. If you accept lost updates, set DEFSTATE_ACCEPT_LOST_UPDATES=1 (or accept_lost_updates: true under state_storage in defstate.yaml).',
      },
    );
  /** The probe's etag if it holds `step`'s content now; `undefined` otherwise. */
  const holds = async (step: string) => {
    const found = await retried(() => readText(store, name, { signal }));
    return found.text === content(step) ? found.etag : undefined;
  };
  /** A write that must apply: retried; a retry refused because its own try landed is fine. */
  const mustApply = async (step: string, options: { ifNoneMatch?: '*'; ifMatch?: string }) => {
    try {
      return (await retried(() => store.put(name, content(step), { ...options, signal }))).etag;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      const etag = await holds(step);
      if (etag === undefined) return undefined;
      return etag;
    }
  };
  /** A write that must be refused; `true` when the store took it. */
  const applied = async (step: string, options: { ifNoneMatch?: '*'; ifMatch?: string }) => {
    try {
      await retried(() => store.put(name, content(step), { ...options, signal }));
    } catch (error) {
      if (error instanceof PreconditionFailedError) return false;
      throw error;
    }
    return true;
  };

  const first = await mustApply('first', { ifNoneMatch: '*' });
  if (first === undefined) throw refuse('create-only writes (If-None-Match: *)');
  try {
    if (await applied('second', { ifNoneMatch: '*' })) {
      throw refuse('create-only writes (If-None-Match: *)');
    }
    const third = await mustApply('third', { ifMatch: first });
    if (third === undefined) {
      throw refuse('the etags it returns (a write with the current etag was refused)');
    }
    if (await applied('fourth', { ifMatch: first })) {
      throw refuse('conditional replaces (If-Match)');
    }
    if ((await holds('third')) === undefined || third === first) {
      throw refuse('conditional writes (the object changed although every condition failed)');
    }
  } finally {
    if (store.capabilities.delete) await store.delete(name).catch(() => undefined);
  }
}

/** Where a store's requests go, for messages and for remembering which endpoints were proven. */
export function endpointOf(store: BlobStore): string {
  return store.endpoint ?? store.location;
}
