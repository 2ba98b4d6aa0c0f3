import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { PreconditionFailedError } from '../errors.js';
import type { StateInfo } from '../model/state-info.js';
import type { StateVersion } from '../model/state-version.js';
import { type BlobMeta, type BlobStore, listAll } from '../store/blob-store.js';
import {
  parsePublishedRecordName,
  parseStateObjectName,
  publishedRecordName,
  publishedRecordPrefix,
  stateObjectPrefix,
} from './layout.js';

/**
 * How long an unrecorded state object is presumed to belong to an upload still under way, by
 * the store's clock. Prune collects such orphans only when older; a refresh never records an
 * upload it started longer ago than half of this, by its own monotonic clock.
 */
export const ORPHAN_GRACE_MS = 24 * 60 * 60_000;

/**
 * How long a recorded version that is not latest is presumed to be on its way to becoming latest
 * (its refresh is between the record and the pointer's compare-and-swap), by the store's clock.
 * Prune never deletes a version recorded more recently; a refresh never commits a version it
 * recorded longer ago than half of this, by its own monotonic clock.
 */
export const RECORD_GRACE_MS = 60 * 60_000;

/**
 * Records that uploads of these versions finished (see `layout.ts`): written before any pointer
 * names them. Create-only and idempotent: a record that is already there is left as it is.
 */
export async function writePublishedRecords(
  store: BlobStore,
  infos: readonly StateInfo[],
  { signal }: { signal?: AbortSignal } = {},
): Promise<void> {
  await Promise.all(
    infos.map((info) =>
      withRetry(
        () =>
          store
            .put(publishedRecordName(info), `${JSON.stringify(info)}\n`, {
              ifNoneMatch: '*',
              contentType: 'application/json',
              signal,
            })
            .catch((error: unknown) => {
              if (!(error instanceof PreconditionFailedError)) throw error;
            }),
        { policy: STORE_RETRY_POLICY, signal },
      ),
    ),
  );
}

/**
 * The published record of one version, or `undefined` when no refresh finished with it: one
 * listing of the names that start with that version, however many versions the key has.
 */
export async function readPublishedRecord(
  store: BlobStore,
  key: string,
  version: StateVersion,
  { signal }: { signal?: AbortSignal } = {},
): Promise<StateInfo | undefined> {
  const prefix = `${publishedRecordPrefix(key)}${version}.`;
  const page = await withRetry(() => store.list(prefix, { signal }), {
    policy: STORE_RETRY_POLICY,
    signal,
  });
  return page.items
    .map((item) => parsePublishedRecordName(key, item.name))
    .find((info) => info?.version === version);
}

/**
 * When the store recorded a version (its record's time, by the store's clock), or `undefined`
 * when it has no record or the store stamps no times. One listing.
 */
export async function readRecordTime(
  store: BlobStore,
  key: string,
  version: StateVersion,
  { signal }: { signal?: AbortSignal } = {},
): Promise<Date | undefined> {
  const prefix = `${publishedRecordPrefix(key)}${version}.`;
  const page = await withRetry(() => store.list(prefix, { signal }), {
    policy: STORE_RETRY_POLICY,
    signal,
  });
  return page.items.find((item) => parsePublishedRecordName(key, item.name)?.version === version)
    ?.lastModified;
}

/** What a store holds for one key: its state objects and its published records. */
export interface StoredVersions {
  /** Every state object, by version. */
  objects: Map<StateVersion, StoredObject>;
  /** Every published record, by version. */
  records: Map<StateVersion, StoredRecord>;
}

export interface StoredObject {
  size: number;
  /** When the store says the object was written, if it says. */
  lastModified?: Date;
}

export interface StoredRecord {
  info: StateInfo;
  /** When the store says the record was written, if it says: about when the version was published. */
  lastModified?: Date;
}

/**
 * Lists a key's state objects and published records: two listings, whatever their number. The
 * records are listed first: a state object is always written before its record, so every record
 * seen has its object in the later listing unless the object really is gone.
 */
export async function readStoredVersions(
  store: BlobStore,
  key: string,
  { signal }: { signal?: AbortSignal } = {},
): Promise<StoredVersions> {
  const listed = async <T>(prefix: string, parse: (item: BlobMeta) => T | undefined) =>
    withRetry(
      async () => {
        const found: T[] = [];
        for await (const item of listAll(store, prefix, { signal })) {
          const parsed = parse(item);
          if (parsed !== undefined) found.push(parsed);
        }
        return found;
      },
      { policy: STORE_RETRY_POLICY, signal },
    );
  const records = await listed(publishedRecordPrefix(key), (item) => {
    const info = parsePublishedRecordName(key, item.name);
    if (!info) return undefined;
    const record: StoredRecord = { info };
    if (item.lastModified) record.lastModified = item.lastModified;
    return record;
  });
  const objects = await listed(stateObjectPrefix(key), (item) => {
    const version = parseStateObjectName(key, item.name);
    if (version === undefined) return undefined;
    const object: StoredObject = { size: item.size };
    if (item.lastModified) object.lastModified = item.lastModified;
    return [version, object] as const;
  });
  return {
    objects: new Map(objects),
    records: new Map(records.map((record) => [record.info.version, record])),
  };
}
