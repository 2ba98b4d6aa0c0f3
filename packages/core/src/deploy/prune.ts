import { createLimit } from '../async/limit.js';
import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { UsageError } from '../errors.js';
import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import { compareStateVersions, versionCreatedAt } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { publishedRecordName, stateObjectName } from '../versioned/layout.js';
import { type MaintenanceLease, withMaintenanceLease } from '../versioned/lease.js';
import { readPointer } from '../versioned/pointer.js';
import { prepareStoreForWrites } from '../versioned/pointer-writer.js';
import {
  ORPHAN_GRACE_MS,
  RECORD_GRACE_MS,
  readStoredVersions,
  type StoredVersions,
  writePublishedRecords,
} from '../versioned/published.js';

export interface PruneOptions {
  /** The versioned keys to prune. */
  keys: readonly string[];
  /** Published versions to keep per key, newest first (the latest is kept besides). */
  keep: number;
  /** Delete only versions older than this, in ms, by the store's clock. */
  olderThanMs?: number;
  /** Every version these pin files name is kept. */
  pins?: readonly PinFile[];
  /**
   * Reads the pin files again. Called just before each key's versions are deleted, so that a
   * pin file written during the prune still protects what it names.
   */
  reloadPins?: () => Promise<readonly PinFile[]>;
  dryRun?: boolean;
  /**
   * An unrecorded object younger than this may belong to an upload still under way, so it is not
   * taken for an orphan yet. `ORPHAN_GRACE_MS` (a day) by default.
   */
  orphanGraceMs?: number;
  /**
   * A recorded version younger than this may be about to become latest (its refresh is between
   * its record and its commit), so it is never deleted. `RECORD_GRACE_MS` (an hour) by default;
   * lower it only when no refresh of these keys is running.
   */
  recordGraceMs?: number;
  /** The store's current time; read from the store itself (the lease's timestamp) by default. */
  now?: Date;
  signal?: AbortSignal;
  /** For the maintenance lease: how long to wait for another holder, in ms. */
  leaseWaitMs?: number;
}

export interface PruneCandidate {
  key: string;
  version: string;
  size: number;
  createdAt: string;
  /** `superseded`: a published version beyond `keep`; `orphan`: no refresh finished with it. */
  reason: 'superseded' | 'orphan';
}

export interface PruneReport {
  dryRun: boolean;
  /** What was deleted, or with `dryRun` what would be. */
  deleted: PruneCandidate[];
  /** Versions left in place. */
  keptCount: number;
  freedBytes: number;
  /** Temporary uploads of interrupted refreshes that were cleaned up. */
  abandonedUploads: number;
}

export const DEFAULT_ORPHAN_GRACE_MS = ORPHAN_GRACE_MS;

/**
 * Deletes old versions of versioned keys, holding the store's maintenance lease so that no
 * rollback (or other prune) runs meanwhile. Never the latest version, never one a pin file names,
 * never one of the `keep` newest published versions, never one recorded in the last
 * `RECORD_GRACE_MS` (a refresh may be about to make it latest), and, with `olderThanMs`, never
 * one younger than that. Orphans (uploaded by refreshes that crashed before recording them) are
 * collected once older than the grace period, whatever `keep` says. Every age and "newest" is by
 * the store's clock: the timestamps it put on the objects and on the lease (a dry run, which
 * writes nothing, not even the lease, uses this machine's clock instead).
 *
 * Just before a key's versions are deleted, the key's pointer entry and the pin files are read
 * again, and a version that became latest or pinned meanwhile is spared. That suffices: under
 * the lease, only refreshes move the pointer, and a refresh only ever makes latest a version it
 * recorded itself moments before, which the record grace protects. Each state object is deleted
 * before its record, so an interrupted prune leaves at worst a record without bytes, which the
 * next prune removes.
 */
export async function pruneState(store: BlobStore, options: PruneOptions): Promise<PruneReport> {
  const { keep, signal } = options;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new UsageError('keep must be a whole number ≥ 1: prune never deletes every version.');
  }
  // A dry run writes nothing, not even the lease: it judges ages by this machine's clock.
  if (options.dryRun) return pruneUnderLease(store, options, NO_LEASE);
  await prepareStoreForWrites(store, { signal });
  return withMaintenanceLease(
    store,
    {
      operation: 'prune',
      signal,
      ...(options.leaseWaitMs !== undefined ? { waitMs: options.leaseWaitMs } : {}),
    },
    (lease) => pruneUnderLease(store, options, lease),
  );
}

const NO_LEASE: MaintenanceLease = {
  signal: new AbortController().signal,
  assertHeld: () => {},
  storeNow: () => undefined,
};

async function pruneUnderLease(
  store: BlobStore,
  options: PruneOptions,
  lease: MaintenanceLease,
): Promise<PruneReport> {
  const { dryRun = false, signal } = options;
  const retry = { policy: STORE_RETRY_POLICY, signal };
  const storeNow = () => (options.now ?? lease.storeNow() ?? new Date()).getTime();
  const orphanGraceMs = options.orphanGraceMs ?? ORPHAN_GRACE_MS;
  const recordGraceMs = options.recordGraceMs ?? RECORD_GRACE_MS;
  const abandonedUploads = dryRun
    ? 0
    : await (store.removeAbandonedUploads?.({ olderThanMs: orphanGraceMs, signal }) ?? 0);

  const plans: KeyPlan[] = [];
  let keptCount = 0;
  for (const key of options.keys) {
    const [stored, { entries }] = await Promise.all([
      readStoredVersions(store, key, { signal }),
      readPointer(store, { keys: [key], signal }),
    ]);
    const latest = entries.get(key);
    // Self-healing: a latest version whose record was never written (by a refresh of an older
    // defstate that died between its pointer move and its record) is published all the same.
    if (latest && !stored.records.has(latest.version) && stored.objects.has(latest.version)) {
      stored.records.set(latest.version, { info: latest });
      if (!dryRun) await writePublishedRecords(store, [latest], { signal });
    }
    const plan = planKey(key, stored, latest, options, storeNow(), {
      orphanGraceMs,
      recordGraceMs,
    });
    keptCount += plan.kept;
    plans.push(plan);
  }
  const candidates = plans.flatMap((plan) => plan.candidates);
  if (dryRun) {
    return {
      dryRun,
      deleted: candidates,
      keptCount,
      freedBytes: sum(candidates),
      abandonedUploads,
    };
  }

  const deleted: PruneCandidate[] = [];
  const limit = createLimit(8);
  const remove = (name: string) =>
    limit(() => {
      lease.assertHeld();
      return withRetry(() => store.delete(name, { signal }), retry);
    });
  for (const plan of plans) {
    if (plan.candidates.length === 0 && plan.danglingRecords.length === 0) continue;
    lease.assertHeld();
    const [{ entries }, pins] = await Promise.all([
      readPointer(store, { keys: [plan.key], signal }),
      options.reloadPins ? options.reloadPins() : Promise.resolve(options.pins ?? []),
    ]);
    const spared = new Set(pins.flatMap((file) => file.keys[plan.key]?.version ?? []));
    const latestNow = entries.get(plan.key)?.version;
    if (latestNow) spared.add(latestNow);
    const now = plan.candidates.filter((candidate) => !spared.has(candidate.version));
    keptCount += plan.candidates.length - now.length;
    await Promise.all([
      ...now.map(async (candidate) => {
        await remove(stateObjectName(candidate.key, candidate.version));
        const record = plan.records.get(candidate.version);
        if (record) await remove(publishedRecordName(record));
        deleted.push(candidate);
      }),
      // A record whose object was missing from the listing: delete it only if the object really
      // is gone (an interrupted prune), never because a listing raced an upload.
      ...plan.danglingRecords.map(async (info) => {
        const present = await withRetry(
          () => store.head(stateObjectName(info.key, info.version), { signal }),
          retry,
        );
        if (!present) await remove(publishedRecordName(info));
      }),
    ]);
  }
  deleted.sort((a, b) => a.key.localeCompare(b.key) || compareStateVersions(a.version, b.version));
  return { dryRun, deleted, keptCount, freedBytes: sum(deleted), abandonedUploads };
}

interface KeyPlan {
  key: string;
  candidates: PruneCandidate[];
  /** The record of each candidate that has one, by version. */
  records: Map<string, StateInfo>;
  danglingRecords: StateInfo[];
  kept: number;
}

/** Which of one key's versions may go, by the rules above, as of the store time `now`. */
function planKey(
  key: string,
  stored: StoredVersions,
  latest: StateInfo | undefined,
  options: PruneOptions,
  now: number,
  graces: { orphanGraceMs: number; recordGraceMs: number },
): KeyPlan {
  const pinned = new Set((options.pins ?? []).flatMap((file) => file.keys[key]?.version ?? []));
  const recordedAt = (version: string) =>
    (
      stored.records.get(version)?.lastModified ?? stored.objects.get(version)?.lastModified
    )?.getTime();
  const newest = new Set(
    [...stored.records.keys()]
      .filter((version) => stored.objects.has(version))
      .sort((a, b) => (recordedAt(b) ?? 0) - (recordedAt(a) ?? 0) || compareStateVersions(b, a))
      .slice(0, options.keep),
  );
  const plan: KeyPlan = { key, candidates: [], records: new Map(), danglingRecords: [], kept: 0 };
  for (const [version, object] of stored.objects) {
    const record = stored.records.get(version);
    // With no time from the store, a version counts as brand new: it is never deleted.
    const age = now - (recordedAt(version) ?? now);
    const oldEnough =
      age > (options.olderThanMs ?? 0) &&
      age >= (record ? graces.recordGraceMs : graces.orphanGraceMs);
    const keep = version === latest?.version || pinned.has(version) || newest.has(version);
    if (keep || !oldEnough) {
      plan.kept++;
      continue;
    }
    plan.candidates.push({
      key,
      version,
      size: object.size,
      createdAt: record?.info.createdAt ?? versionCreatedAt(version),
      reason: record ? 'superseded' : 'orphan',
    });
    if (record) plan.records.set(version, record.info);
  }
  for (const { info } of stored.records.values()) {
    if (!stored.objects.has(info.version)) plan.danglingRecords.push(info);
  }
  return plan;
}

function sum(candidates: readonly PruneCandidate[]): number {
  return candidates.reduce((total, candidate) => total + candidate.size, 0);
}
