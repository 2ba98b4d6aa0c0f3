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
import { removeFromPointer } from './forget.js';
import { removeStaleShardPlans } from './shard-plan.js';

export interface PruneOptions {
  /** The versioned keys to prune. */
  keys: readonly string[];
  /** Published versions to keep per key, newest first (the latest is kept besides). */
  keep: number;
  /**
   * The keys are no longer declared (`prune --undeclared`): a key nothing was stored for within
   * `olderThanMs` (required) is collected whole, its latest version included, after moving it
   * out of the pointer; `keep` does not apply. A key with anything younger is left alone: some
   * branch or project still refreshes it. Pinned versions are still kept.
   */
  undeclared?: boolean;
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
  /** Shard plans of CI runs more than a week old (by the store's clock) that were deleted. */
  shardPlans?: number;
  /** With `undeclared`: the keys moved out of the pointer (with `dryRun`: that would be). */
  forgotten?: string[];
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
  if (options.undeclared) {
    if (!(options.olderThanMs !== undefined && options.olderThanMs > 0)) {
      throw new UsageError('Pruning undeclared keys needs an age (olderThanMs, --older-than).', {
        hint: 'A key another branch or project still refreshes must not be collected: e.g. --older-than 30d collects only keys nothing was stored for in 30 days.',
      });
    }
  } else if (!Number.isInteger(keep) || keep < 1) {
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
  const shardPlans = dryRun ? 0 : await removeStaleShardPlans(store, storeNow(), { signal });

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
    const graces = { orphanGraceMs, recordGraceMs };
    const plan = options.undeclared
      ? planUndeclaredKey(key, stored, latest, options, storeNow(), graces)
      : planKey(key, stored, latest, options, storeNow(), graces);
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
      shardPlans,
      ...(options.undeclared
        ? { forgotten: plans.flatMap((plan) => (plan.forget ? [plan.key] : [])) }
        : {}),
    };
  }

  const deleted: PruneCandidate[] = [];
  const forgotten: string[] = [];
  const limit = createLimit(8);
  const remove = (name: string) =>
    limit(() => {
      lease.assertHeld();
      return withRetry(() => store.delete(name, { signal }), retry);
    });
  for (const plan of plans) {
    if (plan.candidates.length === 0 && plan.danglingRecords.length === 0) continue;
    lease.assertHeld();
    // An undeclared key's latest version goes too: first out of the pointer, and only while it
    // is still that version. A key a refresh moved on meanwhile is in use again: left alone.
    if (plan.forget) {
      const removed = await removeFromPointer(store, [plan.key], {
        signal,
        onlyVersion: new Map([[plan.key, plan.forget]]),
      });
      if (!removed.has(plan.key)) {
        keptCount += plan.candidates.length;
        continue;
      }
      forgotten.push(plan.key);
    }
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
  return {
    dryRun,
    deleted,
    keptCount,
    freedBytes: sum(deleted),
    abandonedUploads,
    shardPlans,
    ...(options.undeclared ? { forgotten: forgotten.sort() } : {}),
  };
}

interface KeyPlan {
  key: string;
  /** An undeclared key's latest version, to move out of the pointer before its versions go. */
  forget?: string;
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

/**
 * Which of an undeclared key's versions may go: none if anything of the key was stored within
 * `olderThanMs` (it is still refreshed somewhere), otherwise every version old enough by the
 * usual graces that no pin file names, the latest included.
 */
function planUndeclaredKey(
  key: string,
  stored: StoredVersions,
  latest: StateInfo | undefined,
  options: PruneOptions,
  now: number,
  graces: { orphanGraceMs: number; recordGraceMs: number },
): KeyPlan {
  const plan: KeyPlan = { key, candidates: [], records: new Map(), danglingRecords: [], kept: 0 };
  const times = [...stored.objects.values(), ...stored.records.values()].map((item) =>
    item.lastModified?.getTime(),
  );
  // With no time from the store, the key counts as brand new: it is left alone.
  const newest = times.some((time) => time === undefined)
    ? now
    : Math.max(...(times as number[]), Number.NEGATIVE_INFINITY);
  if (now - newest <= (options.olderThanMs ?? 0)) {
    plan.kept = stored.objects.size;
    return plan;
  }
  const everything = planKey(key, stored, undefined, { ...options, keep: 0 }, now, graces);
  const pinned = new Set((options.pins ?? []).flatMap((file) => file.keys[key]?.version ?? []));
  if (latest && !pinned.has(latest.version)) {
    if (everything.candidates.some(({ version }) => version === latest.version)) {
      everything.forget = latest.version;
    }
  }
  return everything;
}

function sum(candidates: readonly PruneCandidate[]): number {
  return candidates.reduce((total, candidate) => total + candidate.size, 0);
}
