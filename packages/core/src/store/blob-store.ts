import type { Readable } from 'node:stream';
import type { z } from 'zod';

/**
 * The storage-adapter contract. An adapter offers object-store primitives and nothing more:
 * versioning, the latest pointer, hashing and retries live in core, so an adapter cannot get the
 * protocol wrong.
 *
 * Object names are `/`-separated and relative to the adapter's own root (bucket + prefix, folder).
 * Every method throws core's typed errors (`BlobNotFoundError`, `PreconditionFailedError`,
 * `AccessDeniedError`, `StoreNotFoundError`, `TransientError`, `StorageError`), never an SDK error.
 */
export interface BlobStore {
  /** The adapter's name, e.g. `file`, `s3`. */
  readonly adapter: string;
  /** Where the objects live, for messages: `s3://bucket/prefix`. Never contains a secret. */
  readonly location: string;
  /**
   * Where requests go (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`), for
   * messages and for remembering which endpoints proved their conditional writes. Never contains
   * a secret. `location` stands in when absent.
   */
  readonly endpoint?: string;
  readonly capabilities: BlobStoreCapabilities;

  /** Streams an object. Throws `BlobNotFoundError` when it does not exist. */
  get(name: string, options?: OperationOptions): Promise<BlobReadResult>;
  /** An object's metadata, or `undefined` when it does not exist. */
  head(name: string, options?: OperationOptions): Promise<BlobMeta | undefined>;
  /**
   * Writes an object from a stream or bytes. With `ifNoneMatch: '*'` it only creates; with
   * `ifMatch` it only replaces the object whose etag matches. A failed condition throws
   * `PreconditionFailedError` and changes nothing.
   */
  put(name: string, body: BlobBody, options?: PutOptions): Promise<PutResult>;
  /** One page of the objects whose names start with `prefix`, in ascending name order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Deletes an object; deleting one that does not exist is not an error. */
  delete(name: string, options?: OperationOptions): Promise<void>;
  /**
   * Cleans up what interrupted uploads left behind that the store does not expire by itself
   * (S3's incomplete multipart uploads, a folder's temporary files), if older than `olderThanMs`.
   * Returns how many it removed. Core calls it at the start of a refresh and in prune.
   */
  removeAbandonedUploads?(options: { olderThanMs: number; signal?: AbortSignal }): Promise<number>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
}

export type BlobBody = Readable | Uint8Array | string;

export interface BlobStoreCapabilities {
  /** `put` honours `ifNoneMatch: '*'` and `ifMatch` atomically. Versioned state requires it. */
  readonly conditionalPut: boolean;
  /** `delete` removes objects (pruning needs it). */
  readonly delete: boolean;
  /** Largest object the store accepts, in bytes, if it has a limit worth knowing. */
  readonly maxObjectSize?: number;
}

export interface OperationOptions {
  signal?: AbortSignal;
}

export interface BlobMeta {
  name: string;
  size: number;
  /** Opaque version tag of the object's current content, as `ifMatch` expects it. */
  etag: string;
  lastModified?: Date;
}

export interface BlobReadResult extends BlobMeta {
  body: Readable;
}

export interface PutOptions extends OperationOptions {
  /** `'*'`: create only; fail if the object exists. */
  ifNoneMatch?: '*';
  /** Replace only if the current etag equals this one; fail if it differs or is missing. */
  ifMatch?: string;
  /** Size in bytes when known, so the adapter can choose a single or multipart upload. */
  size?: number;
  contentType?: string;
}

export interface PutResult {
  etag: string;
}

export interface ListOptions extends OperationOptions {
  /** The `cursor` of the previous page. */
  cursor?: string;
  /** Most items wanted in this page; the store may return fewer. */
  limit?: number;
}

export interface ListPage {
  items: BlobMeta[];
  /** Present when there are more items: pass it back to get the next page. */
  cursor?: string;
}

/** What an adapter gets besides its options. */
export interface AdapterContext {
  /** The folder relative option values are resolved from (DEFSTATE_HOME, or the cwd). */
  baseDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A storage adapter: how `defstate.yaml`'s `state_storage` becomes a `BlobStore`. A third-party
 * package exports one as `storageAdapter` (or as its default export).
 */
export interface StorageAdapter<Options = Record<string, unknown>> {
  readonly name: string;
  /** Validates `state_storage.options`; errors name the field. */
  readonly optionsSchema: z.ZodType<Options>;
  create(options: Options, context: AdapterContext): BlobStore | Promise<BlobStore>;
  /** Turns a storage URL (`file:///srv/state`, `s3://bucket/prefix`) into options. */
  optionsFromUrl?(url: URL): Record<string, unknown>;
}

export function defineStorageAdapter<Options>(
  adapter: StorageAdapter<Options>,
): StorageAdapter<Options> {
  return adapter;
}

/** Lists every object under a prefix, following cursors across pages. */
export async function* listAll(
  store: BlobStore,
  prefix: string,
  options: OperationOptions & { pageSize?: number } = {},
): AsyncGenerator<BlobMeta> {
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, {
      cursor,
      limit: options.pageSize,
      signal: options.signal,
    });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/** Reads a whole (small) object as text. */
export async function readText(store: BlobStore, name: string, options?: OperationOptions) {
  const result = await store.get(name, options);
  const chunks: Buffer[] = [];
  for await (const chunk of result.body) chunks.push(Buffer.from(chunk as Uint8Array));
  return { text: Buffer.concat(chunks).toString('utf8'), etag: result.etag };
}
