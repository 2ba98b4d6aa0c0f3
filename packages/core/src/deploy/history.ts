import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import { compareStateVersions, versionCreatedAt } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { readPointer } from '../versioned/pointer.js';
import { readStoredVersions } from '../versioned/published.js';

export interface HistoryEntry {
  key: string;
  version: string;
  createdAt: string;
  /**
   * When the store recorded the version (its record's time, else its object's), by the store's
   * own clock: what history is ordered by.
   */
  storedAt: string | null;
  size: number;
  /** `null` for an orphan: its bytes were uploaded but no refresh finished with them. */
  sha256: string | null;
  /** The latest pointer names this version. */
  latest: boolean;
  /** The commit of the key that made this version latest, for the latest one. */
  generation: number | null;
  /** One of the given pin files names this version. */
  pinned: boolean;
  /** A refresh finished uploading this version; `false` for an orphan of a crashed refresh. */
  published: boolean;
}

export interface KeyHistory {
  key: string;
  /** The latest pointer's entry, when the key has one. */
  latest?: StateInfo;
  /** Newest first, by the store's clock. */
  entries: HistoryEntry[];
}

/**
 * Every version of a versioned key in the store, newest first: two listings and one read of the
 * key's pointer shard. The order is the store's: when it recorded each version. Version ids begin
 * with the uploading machine's time, which may be wrong, so they only break ties.
 */
export async function readHistory(
  store: BlobStore,
  key: string,
  { pins = [], signal }: { pins?: readonly PinFile[]; signal?: AbortSignal } = {},
): Promise<KeyHistory> {
  const [{ entries: pointer }, stored] = await Promise.all([
    readPointer(store, { keys: [key], signal }),
    readStoredVersions(store, key, { signal }),
  ]);
  const latest = pointer.get(key);
  const pinned = new Set(pins.flatMap((file) => file.keys[key]?.version ?? []));
  const entries = [...stored.objects]
    .map(([version, object]): HistoryEntry => {
      const record = stored.records.get(version);
      const info = record?.info ?? (latest?.version === version ? latest : null);
      const storedAt = record?.lastModified ?? object.lastModified;
      return {
        key,
        version,
        createdAt: info?.createdAt ?? versionCreatedAt(version),
        storedAt: storedAt?.toISOString() ?? null,
        size: object.size,
        sha256: info?.sha256 ?? null,
        latest: latest?.version === version,
        generation: latest?.version === version ? (latest.generation ?? null) : null,
        pinned: pinned.has(version),
        published: info !== null,
      };
    })
    .sort(
      (a, b) =>
        (b.storedAt ?? '').localeCompare(a.storedAt ?? '') ||
        compareStateVersions(b.version, a.version),
    );
  return { key, ...(latest ? { latest } : {}), entries };
}
