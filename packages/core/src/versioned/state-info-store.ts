import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  type RetryRuntime,
  systemRuntime,
  withRetry,
} from '../async/retry.js';
import { BlobNotFoundError, ConflictError, PreconditionFailedError } from '../errors.js';
import { parseJsonDocument } from '../model/json-document.js';
import {
  emptyStateInfoDocument,
  type StateInfo,
  type StateInfoDocument,
  StateInfoDocumentSchema,
} from '../model/state-info.js';
import { compareStateVersions } from '../model/state-version.js';
import { type BlobStore, readText } from '../store/blob-store.js';
import { STATE_INFO_OBJECT } from './layout.js';

/** The state info document as read, with the etag a compare-and-swap must match. */
export interface StateInfoSnapshot {
  document: StateInfoDocument;
  /** `undefined` when the store holds no document yet. */
  etag: string | undefined;
}

export async function readStateInfo(
  store: BlobStore,
  options: { signal?: AbortSignal } = {},
): Promise<StateInfoSnapshot> {
  let text: string;
  let etag: string;
  try {
    ({ text, etag } = await readText(store, STATE_INFO_OBJECT, options));
  } catch (error) {
    if (error instanceof BlobNotFoundError)
      return { document: emptyStateInfoDocument(), etag: undefined };
    throw error;
  }
  return { document: parseStateInfoDocument(text, `${store.location}/${STATE_INFO_OBJECT}`), etag };
}

export function parseStateInfoDocument(text: string, where: string): StateInfoDocument {
  return parseJsonDocument(text, StateInfoDocumentSchema, {
    name: `The state info document ${where}`,
    mismatch: 'does not match schema version 1',
    badJsonHint:
      'It was changed by something other than defstate; restore it from the store’s object versioning or delete it and refresh every versioned key.',
    mismatchHint: 'Upgrade defstate if another version wrote it.',
  });
}

export interface UpdateStateInfoOptions {
  signal?: AbortSignal;
  /** Compare-and-swap attempts before giving up with `ConflictError`. */
  maxAttempts?: number;
  runtime?: RetryRuntime;
  now?: () => Date;
}

export interface StateInfoUpdate extends StateInfoSnapshot {
  /** How many writes this update made (0 when `change` changed nothing). */
  writes: number;
}

/**
 * Moves the pointer by compare-and-swap: read the document, apply `change` to a copy, write it
 * only if nobody wrote since the read (`ifMatch`, or `ifNoneMatch: '*'` for the first document),
 * and on a lost race read again and re-apply. `change` must be a pure merge so that re-applying it
 * to a newer document keeps the other writer's changes.
 */
export async function updateStateInfo(
  store: BlobStore,
  change: (document: StateInfoDocument) => StateInfoDocument,
  {
    signal,
    maxAttempts = 20,
    runtime = systemRuntime,
    now = () => new Date(),
  }: UpdateStateInfoOptions = {},
): Promise<StateInfoUpdate> {
  const backoff = { retries: maxAttempts, baseDelayMs: 20, maxDelayMs: 1_000 };
  let writes = 0;
  // One compare-and-swap: read, merge, conditional write. `undefined` means another writer won.
  const attemptSwap = async (): Promise<StateInfoUpdate | undefined> => {
    const snapshot = await readStateInfo(store, { signal });
    const next = change(structuredClone(snapshot.document));
    if (sameKeys(next, snapshot.document)) return { ...snapshot, writes };
    next.updatedAt = now().toISOString();
    const body = `${JSON.stringify(next, null, 2)}\n`;
    try {
      writes++;
      const { etag } = await store.put(STATE_INFO_OBJECT, body, {
        ...(snapshot.etag === undefined
          ? { ifNoneMatch: '*' as const }
          : { ifMatch: snapshot.etag }),
        contentType: 'application/json',
        signal,
      });
      return { document: next, etag, writes };
    } catch (error) {
      if (error instanceof PreconditionFailedError) return undefined;
      throw error;
    }
  };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // A throttled or dropped request is retried with backoff. If a write did land before its
    // answer was lost, the re-read finds the merge already applied and writes nothing more.
    const update = await withRetry(attemptSwap, { policy: DEFAULT_RETRY_POLICY, runtime, signal });
    if (update) return update;
    await runtime.sleep(backoffDelay(attempt - 1, backoff, runtime.random), signal);
  }
  throw new ConflictError(
    `The state info document in ${store.location} kept changing; gave up after ${maxAttempts} attempts.`,
    {
      hint: 'Many refreshes are writing at once; run again, or lower the number of parallel jobs.',
    },
  );
}

function sameKeys(a: StateInfoDocument, b: StateInfoDocument): boolean {
  return JSON.stringify(a.keys) === JSON.stringify(b.keys);
}

/** A merge for `updateStateInfo`: each entry replaces the current one unless that one is newer. */
export function mergeNewer(infos: readonly StateInfo[]) {
  return (document: StateInfoDocument): StateInfoDocument => {
    for (const info of infos) {
      const current = document.keys[info.key];
      if (!current || compareStateVersions(current.version, info.version) < 0)
        document.keys[info.key] = info;
    }
    return document;
  };
}
