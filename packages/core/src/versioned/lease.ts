import { randomBytes } from 'node:crypto';
import { type RetryRuntime, systemRuntime } from '../async/retry.js';
import {
  AbortedError,
  BlobNotFoundError,
  isTransient,
  LeaseError,
  PreconditionFailedError,
} from '../errors.js';
import { currentProcess, isGoneHere } from '../fs/process-identity.js';
import { parseJsonDocument } from '../model/json-document.js';
import { type Lease, LeaseSchema } from '../model/lease.js';
import { type BlobStore, readText } from '../store/blob-store.js';
import { LEASE_OBJECT } from './layout.js';

/**
 * The store-wide maintenance lease. Whatever deletes versions or moves latest backwards — prune,
 * rollback, the upgrade of an old layout — holds it, so two of them never interleave. Refreshes
 * do not take it: they only ever add versions and move their own keys forward.
 *
 * The same contract as the file lock (store/file-lock.ts), on the store itself:
 * - acquire: create the lease object create-only; if it exists and was released, or its holder
 *   is gone, take it by compare-and-swap on its etag. Never delete-then-create: between the two,
 *   a third process could create it too.
 * - gone: the holder ran on this machine and its process is gone, or the lease document has not
 *   changed for `ttlMs` as timed by the waiter's own monotonic clock. No clocks of two machines
 *   are compared.
 * - heartbeat: the holder rewrites the document (if-match) every `ttlMs / 3`. A holder acts only
 *   while its last heartbeat was sent less than `ttlMs / 2` ago (`assertHeld`), and a waiter
 *   takes over only after a full `ttlMs` without change, so the two never overlap.
 * - release: write `released: true` (if-match). A holder whose heartbeat finds the document
 *   changed has lost the lease; its `signal` aborts and `assertHeld` throws.
 */
export interface MaintenanceLeaseOptions {
  /** What the holder does, for the message a waiter sees: `prune`, `rollback`, `upgrade`. */
  operation: string;
  /** Silence after which a holder is taken to be gone, in ms. */
  ttlMs?: number;
  /** Longest wait for a held lease before `LeaseError`, in ms. */
  waitMs?: number;
  signal?: AbortSignal;
  runtime?: RetryRuntime;
}

export interface MaintenanceLease {
  /** Aborted when the lease is lost. */
  readonly signal: AbortSignal;
  /** Throws `LeaseError` unless the lease is surely still held. Call before each destructive step. */
  assertHeld(): void;
  /**
   * The store's own clock, as of now: the time the store stamped on the last heartbeat, plus the
   * time elapsed here since. `undefined` when the store does not stamp objects.
   */
  storeNow(): Date | undefined;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;
export const DEFAULT_LEASE_WAIT_MS = 120_000;

export async function withMaintenanceLease<T>(
  store: BlobStore,
  options: MaintenanceLeaseOptions,
  action: (lease: MaintenanceLease) => Promise<T>,
): Promise<T> {
  const held = await acquireLease(store, options);
  try {
    return await action(held.lease);
  } finally {
    await held.release();
  }
}

interface HeldLease {
  lease: MaintenanceLease;
  release(): Promise<void>;
}

async function acquireLease(
  store: BlobStore,
  options: MaintenanceLeaseOptions,
): Promise<HeldLease> {
  const {
    ttlMs = DEFAULT_LEASE_TTL_MS,
    waitMs = DEFAULT_LEASE_WAIT_MS,
    signal,
    runtime = systemRuntime,
  } = options;
  const owner = randomBytes(16).toString('hex');
  const { host, pid, boot, start } = currentProcess();
  const acquiredAt = new Date().toISOString();
  const documentFor = (released: boolean): Lease => ({
    schemaVersion: 1,
    owner,
    operation: options.operation,
    holder: { host, pid, ...(boot ? { boot } : {}), ...(start ? { start } : {}) },
    ttlMs,
    acquiredAt,
    heartbeatAt: new Date().toISOString(),
    released,
  });
  const started = performance.now();
  // The holder's document as first seen by this waiter, by etag: a silence is timed from there.
  let watched: { etag: string; since: number } | undefined;
  let etag = '';
  for (;;) {
    if (signal?.aborted) throw new AbortedError('Stopped while waiting for the maintenance lease.');
    const body = `${JSON.stringify(documentFor(false))}\n`;
    try {
      const current = await readLease(store, signal);
      if (!current) {
        etag = (await store.put(LEASE_OBJECT, body, { ifNoneMatch: '*', signal })).etag;
        break;
      }
      if (watched?.etag !== current.etag)
        watched = { etag: current.etag, since: performance.now() };
      const gone =
        current.lease.released ||
        isGoneHere(current.lease.holder) ||
        performance.now() - watched.since >= current.lease.ttlMs;
      if (gone) {
        etag = (await store.put(LEASE_OBJECT, body, { ifMatch: current.etag, signal })).etag;
        break;
      }
      if (performance.now() - started > waitMs) throw heldBy(store, current.lease, waitMs);
    } catch (error) {
      // Another contender got there first, or a request failed for a moment: look again.
      const retry = error instanceof PreconditionFailedError || isTransient(error);
      if (!retry || performance.now() - started > waitMs) throw error;
    }
    await runtime
      .sleep(Math.min(1_000, ttlMs / 10) * (0.5 + runtime.random()), signal)
      .catch((error: unknown) => {
        throw new AbortedError('Stopped while waiting for the maintenance lease.', {
          cause: error,
        });
      });
  }
  return hold(store, etag, documentFor, ttlMs);
}

function hold(
  store: BlobStore,
  firstEtag: string,
  documentFor: (released: boolean) => Lease,
  ttlMs: number,
): HeldLease {
  const controller = new AbortController();
  let etag = firstEtag;
  let lastSent = performance.now();
  let stamp: { storeTime: Date; at: number } | undefined;
  let lost: LeaseError | undefined;
  const loseLease = (message: string, cause?: unknown) => {
    lost ??= new LeaseError(message, {
      cause,
      hint: 'Another process took the maintenance lease over; nothing more was changed by this one. Run it again.',
    });
    controller.abort(lost);
  };
  const stampFromStore = async () => {
    const at = performance.now();
    const meta = await store.head(LEASE_OBJECT).catch(() => undefined);
    if (meta?.etag === etag && meta.lastModified) stamp = { storeTime: meta.lastModified, at };
  };
  let beating: Promise<void> = stampFromStore();
  const beat = async () => {
    const sent = performance.now();
    try {
      const body = `${JSON.stringify(documentFor(false))}\n`;
      etag = (await store.put(LEASE_OBJECT, body, { ifMatch: etag })).etag;
      lastSent = sent;
      await stampFromStore();
    } catch (error) {
      if (error instanceof PreconditionFailedError || error instanceof BlobNotFoundError) {
        loseLease('The maintenance lease was taken over by another process.', error);
      }
      // A transient failure is tried again at the next beat; `assertHeld` stops the holder if
      // beats keep failing for half the time-to-live.
    }
  };
  const timer = setInterval(() => {
    beating = beating.then(beat);
  }, ttlMs / 3);
  timer.unref();
  const lease: MaintenanceLease = {
    signal: controller.signal,
    assertHeld() {
      if (lost) throw lost;
      if (performance.now() - lastSent > ttlMs / 2) {
        loseLease('The maintenance lease could not be renewed in time; stopped to be safe.');
        throw lost;
      }
    },
    storeNow() {
      return stamp
        ? new Date(stamp.storeTime.getTime() + (performance.now() - stamp.at))
        : undefined;
    },
  };
  return {
    lease,
    async release() {
      clearInterval(timer);
      await beating;
      if (lost) return;
      const body = `${JSON.stringify(documentFor(true))}\n`;
      await store.put(LEASE_OBJECT, body, { ifMatch: etag }).catch(() => undefined);
    },
  };
}

async function readLease(
  store: BlobStore,
  signal: AbortSignal | undefined,
): Promise<{ lease: Lease; etag: string } | undefined> {
  try {
    const { text, etag } = await readText(store, LEASE_OBJECT, { signal });
    const lease = await parseJsonDocument(text, LeaseSchema, {
      name: `The maintenance lease ${store.location}/${LEASE_OBJECT}`,
      mismatch: 'is not valid',
      badJsonHint: 'Delete it once no prune or rollback is running.',
      mismatchHint: 'Upgrade defstate if a newer version wrote it.',
    });
    return { lease, etag };
  } catch (error) {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  }
}

function heldBy(store: BlobStore, lease: Lease, waitMs: number): LeaseError {
  const { host, pid } = lease.holder;
  return new LeaseError(
    `The maintenance lease of ${store.location} is held by ${lease.operation} (process ${pid} on ${host}, since ${lease.acquiredAt}); waited ${Math.round(waitMs / 1000)} s.`,
    {
      hint: `It expires ${Math.round(lease.ttlMs / 1000)} s after its holder's last heartbeat (at ${lease.heartbeatAt} by the holder's clock). Wait for that ${lease.operation} to finish, then run again.`,
    },
  );
}
