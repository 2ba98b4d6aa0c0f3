import { DEFAULT_RETRY_POLICY, withRetry } from '../async/retry.js';
import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import { compareStateVersions, versionCreatedAt } from '../model/state-version.js';
import type { BlobStore } from '../store/blob-store.js';
import { readStoredVersions } from '../versioned/published.js';
import { readStateInfo } from '../versioned/state-info-store.js';

export interface HistoryEntry {
  key: string;
  version: string;
  createdAt: string;
  size: number;
  /** `null` for an orphan: its bytes were uploaded but no refresh finished with them. */
  sha256: string | null;
  /** The latest pointer names this version. */
  latest: boolean;
  /** One of the given pin files names this version. */
  pinned: boolean;
  /** A refresh finished with this version; `false` for an orphan of a crashed refresh. */
  published: boolean;
}

export interface KeyHistory {
  key: string;
  /** The latest pointer's entry, when the key has one. */
  latest?: StateInfo;
  /** Newest first. */
  entries: HistoryEntry[];
}

/** Every version of a versioned key in the store, newest first: two listings and one read. */
export async function readHistory(
  store: BlobStore,
  key: string,
  { pins = [], signal }: { pins?: readonly PinFile[]; signal?: AbortSignal } = {},
): Promise<KeyHistory> {
  const [{ document }, stored] = await Promise.all([
    withRetry(() => readStateInfo(store, { signal }), { policy: DEFAULT_RETRY_POLICY, signal }),
    readStoredVersions(store, key, { signal }),
  ]);
  const latest = document.keys[key];
  const pinned = new Set(pins.flatMap((file) => file.keys[key]?.version ?? []));
  const entries = [...stored.objects]
    .map(([version, { size }]): HistoryEntry => {
      const record = stored.records.get(version) ?? (latest?.version === version ? latest : null);
      return {
        key,
        version,
        createdAt: record?.createdAt ?? versionCreatedAt(version),
        size,
        sha256: record?.sha256 ?? null,
        latest: latest?.version === version,
        pinned: pinned.has(version),
        published: record !== null,
      };
    })
    .sort((a, b) => compareStateVersions(b.version, a.version));
  return { key, ...(latest ? { latest } : {}), entries };
}
