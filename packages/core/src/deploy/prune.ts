import { createLimit } from '../async/limit.js';
import { DEFAULT_RETRY_POLICY, withRetry } from '../async/retry.js';
import { UsageError } from '../errors.js';
import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import { compareStateVersions, versionCreatedAt } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { publishedRecordName, stateObjectName } from '../versioned/layout.js';
import { readStoredVersions, writePublishedRecords } from '../versioned/published.js';
import { readStateInfo } from '../versioned/state-info-store.js';

export interface PruneOptions {
  /** The versioned keys to prune. */
  keys: readonly string[];
  /** Published versions to keep per key, newest first (the latest is kept besides). */
  keep: number;
  /** Delete only versions older than this, in ms. */
  olderThanMs?: number;
  /** Every version these pin files name is kept. */
  pins?: readonly PinFile[];
  dryRun?: boolean;
  /**
   * An unpublished version younger than this may belong to a refresh still running, so it is not
   * taken for an orphan yet. One hour by default.
   */
  orphanGraceMs?: number;
  now?: Date;
  signal?: AbortSignal;
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
}

export const DEFAULT_ORPHAN_GRACE_MS = 60 * 60_000;

/**
 * Deletes old versions of versioned keys. Never the latest version, never one a given pin file
 * names, never one of the `keep` newest published versions, and, with `olderThanMs`, never one
 * younger than that. Orphans (uploaded by refreshes that crashed before publishing) are collected
 * once older than the grace period, whatever `keep` says.
 *
 * The pointer is read again just before deleting, and a version that became latest meanwhile (a
 * rollback) is spared. The state object is deleted before its record, so an interrupted prune
 * leaves at worst a record without bytes, which the next prune removes.
 */
export async function pruneState(store: BlobStore, options: PruneOptions): Promise<PruneReport> {
  const { keep, pins = [], dryRun = false, signal } = options;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new UsageError('keep must be a whole number ≥ 1: prune never deletes every version.');
  }
  const now = (options.now ?? new Date()).getTime();
  const orphanGraceMs = options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  const retry = { policy: DEFAULT_RETRY_POLICY, signal };
  const readLatest = async () =>
    (await withRetry(() => readStateInfo(store, { signal }), retry)).document.keys;
  const latest = await readLatest();
  const limit = createLimit(8);

  const candidates: PruneCandidate[] = [];
  /** The published record of each superseded candidate, deleted after its state object. */
  const records = new Map<PruneCandidate, string>();
  const danglingRecords: StateInfo[] = [];
  let keptCount = 0;
  for (const key of options.keys) {
    const stored = await readStoredVersions(store, key, { signal });
    const current = latest[key];
    // Self-healing: a latest version whose record was never written is published all the same.
    if (current && !stored.records.has(current.version) && stored.objects.has(current.version)) {
      stored.records.set(current.version, current);
      if (!dryRun) await writePublishedRecords(store, [current], { signal });
    }
    const pinned = new Set(pins.flatMap((file) => file.keys[key]?.version ?? []));
    const newestPublished = new Set(
      [...stored.records.keys()]
        .filter((version) => stored.objects.has(version))
        .sort((a, b) => compareStateVersions(b, a))
        .slice(0, keep),
    );
    for (const [version, { size, lastModified }] of stored.objects) {
      const createdAt = versionCreatedAt(version);
      const age = now - Date.parse(createdAt);
      const published = stored.records.has(version);
      const protectedVersion =
        version === current?.version || pinned.has(version) || newestPublished.has(version);
      // An orphan's age is the store's own clock when it has one: a version id carries the clock
      // of the machine that refreshed, which may be behind, and a young upload must be spared.
      const uploadAge = lastModified ? Math.min(age, now - lastModified.getTime()) : age;
      const oldEnough =
        age > (options.olderThanMs ?? 0) && (published || uploadAge > orphanGraceMs);
      if (protectedVersion || !oldEnough) {
        keptCount++;
        continue;
      }
      const candidate: PruneCandidate = {
        key,
        version,
        size,
        createdAt,
        reason: published ? 'superseded' : 'orphan',
      };
      candidates.push(candidate);
      const record = stored.records.get(version);
      if (record) records.set(candidate, publishedRecordName(record));
    }
    for (const info of stored.records.values()) {
      if (!stored.objects.has(info.version)) danglingRecords.push(info);
    }
  }

  if (dryRun) return { dryRun, deleted: candidates, keptCount, freedBytes: sum(candidates) };
  const latestNow = candidates.length > 0 ? await readLatest() : latest;
  const deleted = candidates.filter(({ key, version }) => latestNow[key]?.version !== version);
  keptCount += candidates.length - deleted.length;
  const remove = (name: string) =>
    limit(() => withRetry(() => store.delete(name, { signal }), retry));
  await Promise.all([
    ...deleted.map(async (candidate) => {
      await remove(stateObjectName(candidate.key, candidate.version));
      const record = records.get(candidate);
      if (record) await remove(record);
    }),
    // A record whose object was missing from the listing: delete it only if the object really
    // is gone (an interrupted prune), never because a listing raced a refresh.
    ...danglingRecords.map(async (info) => {
      const object = stateObjectName(info.key, info.version);
      const present = await withRetry(() => store.head(object, { signal }), retry);
      if (!present) await remove(publishedRecordName(info));
    }),
  ]);
  return { dryRun, deleted, keptCount, freedBytes: sum(deleted) };
}

function sum(candidates: readonly PruneCandidate[]): number {
  return candidates.reduce((total, candidate) => total + candidate.size, 0);
}
