/**
 * A `BlobStore` on a Google Cloud Storage bucket, under an optional key prefix.
 *
 * Why it is built this way:
 *
 * - Conditional writes are GCS generation preconditions, decided by the server in the same request
 *   that commits the object. Create-only is `ifGenerationMatch: 0` (“only if no live object”),
 *   replace-if-match is `ifGenerationMatch: <generation>`. That is why the etag this store hands
 *   out (put, head, get, list) is the object's generation as a decimal string and not the HTTP
 *   ETag: the generation is what a precondition can name, and it changes on every write, even one
 *   with identical bytes. A 412 becomes core's `PreconditionFailedError`, which core's
 *   compare-and-swap answers by re-reading and merging.
 *
 * - Uploads stream through the SDK's `file.createWriteStream()` with `stream.pipeline`, so
 *   backpressure reaches the source and memory stays flat at any size. Small bodies of known size
 *   (≤ 8 MiB, and all strings/bytes) go in one multipart request: one round trip for the pointer
 *   document. Larger or unknown-size bodies use a resumable upload in a single streamed PUT (no
 *   `chunkSize`, so the SDK keeps only the chunk in flight, not the object). GCS commits a
 *   resumable upload only when its last byte arrives, and checks the precondition then (real GCS
 *   also at session start), so a failed, aborted or losing upload never leaves a partial or
 *   overwritten object: readers see the old object or the new one.
 *
 * - The SDK's upload validation is off. On a crc32c mismatch, or when the server returns no crc32c
 *   at all (some compatible stores), it *deletes the object unconditionally* after writing it,
 *   which could delete a pointer document another writer has just replaced. Integrity is core's:
 *   every state version is hashed before upload and checked against its sha256 and size on every
 *   download. The store still compares the byte count the server stored with the bytes it sent.
 *
 * - A read is one request: the media download's response headers carry the generation and stored
 *   size, so `get` needs no separate metadata call and cannot pair one version's metadata with
 *   another version's bytes. The SDK checks the body against the object's CRC32C as it streams,
 *   with the faster validator of crc32c.ts (the SDK's own capped downloads near 80 MB/s).
 *
 * - GCS answers 404 both for a missing object and a missing bucket. When an object call gets a
 *   404, the store asks once whether the bucket exists (and remembers a yes), so a missing bucket
 *   is a `StoreNotFoundError` naming it rather than an object that merely is not there.
 *
 * - The SDK's retries are off (see client.ts): core retries `TransientError`s with backoff.
 *
 * - Every request settles within a bound, typed, whatever the network does. The SDK's HTTP stack
 *   (node-fetch 2) never ends a body whose connection dropped, and its head/list/delete calls take
 *   no AbortSignal, so each call runs under core's `withDeadline` (the caller's signal, and
 *   `requestTimeoutMs` until the answer), downloads under `guardBody` (length check and stall
 *   timer), and uploads under a progress watchdog: an upload may take long, but not go quiet,
 *   before or after its last byte. A process can therefore never end with a store call unsettled.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortedError,
  AccessDeniedError,
  type BlobBody,
  type BlobMeta,
  BlobNotFoundError,
  type BlobReadResult,
  type BlobStore,
  DefstateError,
  type ListOptions,
  type ListPage,
  type OperationOptions,
  PreconditionFailedError,
  type PutOptions,
  type PutResult,
  StorageError,
  TransientError,
} from '@defstate/core';
import {
  createTracer,
  DEFAULT_REQUEST_TIMEOUT_MS,
  guardBody,
  ObjectKeys,
  progressWatchdog,
  StoreExistence,
  type Tracer,
  withDeadline,
} from '@defstate/core/adapter';
import type { File, FileMetadata } from '@google-cloud/storage';
import type { GcsClient } from './client.js';
import { accessDenied, type ErrorScope, isNotFound, storeNotFound, translate } from './errors.js';

const MiB = 1024 * 1024;
/** Bodies up to this size (when known) go in one multipart request instead of a resumable upload. */
export const SIMPLE_UPLOAD_MAX_BYTES = 8 * MiB;
/** GCS's limit on one object. */
const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;
const DEFAULT_PAGE_SIZE = 1000;
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;
export const DEFAULT_GCS_ENDPOINT = 'https://storage.googleapis.com';

export interface GcsStoreTuning {
  /** A download that gets no bytes for this long fails as transient (default: requestTimeoutMs). */
  stallTimeoutMs?: number;
  /** A request without an answer, or an upload without progress, for this long fails as transient. */
  requestTimeoutMs?: number;
  /** Where DEFSTATE_DEBUG is read from. */
  env?: NodeJS.ProcessEnv;
}

export class GcsBlobStore implements BlobStore {
  readonly adapter = 'gcs';
  readonly capabilities = {
    conditionalPut: true,
    delete: true,
    maxObjectSize: MAX_OBJECT_SIZE,
  } as const;
  readonly location: string;
  /** Where requests go: the JSON API endpoint. Never a secret. */
  readonly endpoint: string;
  readonly bucketName: string;
  readonly #keys: ObjectKeys;
  readonly #client: GcsClient;
  readonly #stallTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #existence: StoreExistence;
  readonly #tracer: Tracer;
  #credentialsChecked: Promise<void> | undefined;

  constructor(client: GcsClient, bucket: string, prefix: string, tuning: GcsStoreTuning = {}) {
    this.#client = client;
    this.#requestTimeoutMs = tuning.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#stallTimeoutMs = tuning.stallTimeoutMs ?? this.#requestTimeoutMs;
    this.bucketName = bucket;
    // GCS names are at most 1024 bytes of UTF-8 and may not hold CR or LF.
    this.#keys = new ObjectKeys(prefix, {
      forbidden: /[\r\n]/,
      maxKeyBytes: 1024,
      keyWord: 'a GCS object name',
    });
    this.location = `gs://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.endpoint = (client.storage.apiEndpoint || DEFAULT_GCS_ENDPOINT).replace(/\/+$/, '');
    this.#tracer = createTracer('store:gcs', { env: tuning.env });
    this.#existence = new StoreExistence((signal) =>
      this.#call('get', 'bucket', signal, () => this.#client.bucket.exists()).then(
        ([exists]) => exists,
        (error: unknown) => {
          throw translate(error, this.#scope('get (bucket check)', ''), signal);
        },
      ),
    );
  }

  get(name: string, options: OperationOptions = {}): Promise<BlobReadResult> {
    return this.#tracer.operation(
      'get',
      this.#where(name),
      () => this.#get(name, options),
      (result) => `${result.size} B generation ${result.etag}`,
    );
  }

  async #get(name: string, options: OperationOptions): Promise<BlobReadResult> {
    const scope = this.#scope('get', name);
    const file = this.#file(name);
    await this.#ready(scope, options.signal);
    const body = file.createReadStream();
    let response: { headers: Record<string, string | string[] | undefined> };
    try {
      response = await this.#call('get', name, options.signal, () => responseOf(body, scope));
    } catch (error) {
      body.destroy();
      throw await this.#failure(error, scope, options.signal);
    }
    const header = (key: string) => {
      const value = response.headers[key];
      return Array.isArray(value) ? value[0] : value;
    };
    const generation = header('x-goog-generation');
    const size = header('x-goog-stored-content-length') ?? header('content-length');
    if (generation === undefined || size === undefined) {
      // A compatible store without GCS's headers: ask for the metadata, then read that generation.
      body.destroy();
      const meta = await this.#head(name, options);
      if (!meta) throw new BlobNotFoundError(name);
      return { ...meta, body: this.#readGeneration(name, meta.etag, scope, options.signal) };
    }
    const lastModified = header('last-modified');
    const encoding = header('x-goog-stored-content-encoding');
    this.#existence.markSeen();
    return {
      name,
      size: Number(size),
      etag: generation,
      ...(lastModified ? { lastModified: new Date(lastModified) } : {}),
      body: this.#guarded(body, scope, options.signal, {
        expectedBytes: encoding === undefined || encoding === 'identity' ? Number(size) : undefined,
      }),
    };
  }

  head(name: string, options: OperationOptions = {}): Promise<BlobMeta | undefined> {
    return this.#tracer.operation(
      'head',
      this.#where(name),
      () => this.#head(name, options),
      (meta) => (meta ? `${meta.size} B generation ${meta.etag}` : 'absent'),
    );
  }

  async #head(name: string, options: OperationOptions): Promise<BlobMeta | undefined> {
    const scope = this.#scope('head', name);
    const file = this.#file(name);
    await this.#ready(scope, options.signal);
    try {
      const [metadata] = await this.#call('head', name, options.signal, () => file.getMetadata());
      this.#existence.markSeen();
      return metaOf(name, metadata);
    } catch (error) {
      const failure = await this.#failure(error, scope, options.signal);
      if (failure instanceof BlobNotFoundError) return undefined;
      throw failure;
    }
  }

  put(name: string, body: BlobBody, options: PutOptions = {}): Promise<PutResult> {
    return this.#tracer.operation(
      'put',
      this.#where(name),
      () => this.#put(name, body, options),
      (result) =>
        `generation ${result.etag}${options.ifNoneMatch ? ' (create-only)' : ''}${options.ifMatch ? ` (if generation ${options.ifMatch})` : ''}`,
    );
  }

  async #put(name: string, body: BlobBody, options: PutOptions): Promise<PutResult> {
    const scope = this.#scope('put', name);
    const file = this.#file(name);
    await this.#ready(scope, options.signal);
    let ifGenerationMatch: number | undefined;
    if (options.ifNoneMatch === '*') ifGenerationMatch = 0;
    else if (options.ifMatch !== undefined) {
      // A generation is a decimal number; anything else (an etag of another store) cannot match.
      if (!/^[1-9]\d*$/.test(options.ifMatch)) throw new PreconditionFailedError(name);
      ifGenerationMatch = Number(options.ifMatch);
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const size = bytes instanceof Uint8Array ? bytes.byteLength : options.size;
    const resumable = size === undefined || size > SIMPLE_UPLOAD_MAX_BYTES;
    const contentType = options.contentType ?? 'application/octet-stream';
    // The upload ends, typed, when the caller cancels or when it goes quiet (before or after its
    // last byte) for requestTimeoutMs.
    const stop = new AbortController();
    const watchdog = progressWatchdog({
      what: `Google Cloud Storage put of ${scope.where}`,
      timeoutMs: this.#requestTimeoutMs,
      onStall: (error) => stop.abort(error),
    });
    const onCancel = () =>
      stop.abort(
        new AbortedError(`put of ${scope.where} was cancelled.`, { cause: options.signal?.reason }),
      );
    if (options.signal?.aborted) onCancel();
    options.signal?.addEventListener('abort', onCancel, { once: true });
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        watchdog.touch();
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        bytes instanceof Uint8Array ? Readable.from([bytes]) : bytes,
        counter,
        file.createWriteStream({
          resumable,
          validation: false,
          contentType,
          // The SDK's default for simple uploads is no time-out at all.
          timeout: this.#requestTimeoutMs,
          metadata: {
            contentType,
            // A resumable upload that declares its length is refused if fewer bytes arrive.
            ...(resumable && size !== undefined ? { contentLength: size } : {}),
          },
          ...(ifGenerationMatch === undefined ? {} : { preconditionOpts: { ifGenerationMatch } }),
        }),
        { signal: stop.signal },
      );
    } catch (error) {
      // Our own stop (a stall or the caller's cancel) is already typed; it wins over the SDK's
      // report of the torn-down request.
      if (stop.signal.aborted && stop.signal.reason instanceof DefstateError)
        throw stop.signal.reason;
      const failure = await this.#failure(error, scope, options.signal);
      // The bucket exists, so a 404 means the resumable session expired or was lost.
      if (failure instanceof BlobNotFoundError) {
        throw new TransientError(`The upload session for ${scope.where} was lost (HTTP 404).`, {
          cause: error,
        });
      }
      throw failure;
    } finally {
      watchdog.stop();
      options.signal?.removeEventListener('abort', onCancel);
    }
    const metadata = file.metadata;
    if (metadata.generation === undefined || Number(metadata.size) !== sent) {
      throw new StorageError(
        `Google Cloud Storage stored ${metadata.size ?? 'an unknown number of'} bytes for ${scope.where} but ${sent} were sent.`,
        { hint: 'Check that apiEndpoint points at Google Cloud Storage or a faithful emulator.' },
      );
    }
    this.#existence.markSeen();
    return { etag: String(metadata.generation) };
  }

  list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.#tracer.operation(
      'list',
      `${this.#where(prefix)}*`,
      () => this.#list(prefix, options),
      (page) => `${page.items.length} items${page.cursor ? ', more' : ''}`,
    );
  }

  async #list(prefix: string, options: ListOptions): Promise<ListPage> {
    const scope = this.#scope('list', prefix || '(all)');
    await this.#ready(scope, options.signal);
    const limit = Math.max(1, Math.min(options.limit ?? DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE));
    try {
      const [files, next] = await this.#call('list', prefix, options.signal, () =>
        this.#client.bucket.getFiles({
          prefix: this.#keys.listPrefixOf(prefix),
          maxResults: limit,
          autoPaginate: false,
          ...(options.cursor === undefined ? {} : { pageToken: options.cursor }),
        }),
      );
      this.#existence.markSeen();
      const items = files.flatMap((file) => {
        const name = this.#keys.nameOf(file.name);
        return name === undefined ? [] : [metaOf(name, file.metadata)];
      });
      const cursor = (next as { pageToken?: string } | null)?.pageToken;
      return cursor ? { items, cursor } : { items };
    } catch (error) {
      throw await this.#failure(error, scope, options.signal, true);
    }
  }

  delete(name: string, options: OperationOptions = {}): Promise<void> {
    return this.#tracer.operation('delete', this.#where(name), () => this.#delete(name, options));
  }

  async #delete(name: string, options: OperationOptions): Promise<void> {
    const scope = this.#scope('delete', name);
    const file = this.#file(name);
    await this.#ready(scope, options.signal);
    try {
      await this.#call('delete', name, options.signal, () => file.delete());
    } catch (error) {
      const failure = await this.#failure(error, scope, options.signal);
      if (!(failure instanceof BlobNotFoundError)) throw failure;
    }
  }

  async close(): Promise<void> {
    // The SDK keeps no sockets of its own beyond Node's keep-alive agent; nothing to release.
  }

  #file(name: string): File {
    return this.#client.bucket.file(this.#keys.keyOf(name));
  }

  #where(name: string): string {
    return `${this.location}/${name}`;
  }

  /** One SDK call, bounded by requestTimeoutMs and the caller's signal. */
  #call<T>(
    operation: string,
    name: string,
    signal: AbortSignal | undefined,
    request: () => Promise<T>,
  ): Promise<T> {
    return withDeadline(request, {
      what: `Google Cloud Storage ${operation} of ${this.#where(name)}`,
      timeoutMs: this.#requestTimeoutMs,
      signal,
    });
  }

  #guarded(
    source: Readable,
    scope: ErrorScope,
    signal: AbortSignal | undefined,
    { expectedBytes }: { expectedBytes?: number | undefined } = {},
  ): Readable {
    return guardBody(source, {
      what: scope.where,
      expectedBytes,
      stallTimeoutMs: this.#stallTimeoutMs,
      signal,
      translate: (error) => translate(error, scope, signal),
    });
  }

  #readGeneration(
    name: string,
    generation: string,
    scope: ErrorScope,
    signal: AbortSignal | undefined,
  ): Readable {
    const source = this.#client.bucket
      .file(this.#keys.keyOf(name), { generation: Number(generation) })
      .createReadStream();
    return this.#guarded(source, scope, signal);
  }

  #scope(operation: string, name: string): ErrorScope {
    return {
      operation,
      name,
      where: this.#where(name),
      bucket: this.bucketName,
      credentials: this.#client.credentials,
    };
  }

  /**
   * Checks the signal and, once per store, that credentials can be had at all, so a missing or
   * broken credential is reported as such instead of as whatever the first request says.
   */
  async #ready(scope: ErrorScope, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw translate(signal.reason, scope, signal);
    if (!this.#client.authenticated) return;
    this.#credentialsChecked ??= withDeadline(
      () => this.#client.storage.authClient.getAccessToken(),
      {
        what: `Getting credentials for ${scope.where}`,
        timeoutMs: this.#requestTimeoutMs,
      },
    ).then(
      () => undefined,
      (error: unknown) => {
        this.#credentialsChecked = undefined; // a later call may find credentials that appeared
        if (error instanceof AccessDeniedError || error instanceof TransientError) throw error;
        const typed = translate(error, scope);
        throw typed instanceof TransientError
          ? typed
          : accessDenied(scope, error, 'could not get credentials');
      },
    );
    await this.#credentialsChecked;
  }

  /**
   * The typed error for a failed call. A 404 is a `BlobNotFoundError` when the bucket exists and a
   * `StoreNotFoundError` when it does not (`bucketLevel`: the call was on the bucket itself).
   */
  async #failure(
    error: unknown,
    scope: ErrorScope,
    signal: AbortSignal | undefined,
    bucketLevel = false,
  ): Promise<Error> {
    if (!isNotFound(error) || signal?.aborted) return translate(error, scope, signal);
    if (bucketLevel) return storeNotFound(scope, error);
    return this.#existence.notFound(scope.name, error, () => storeNotFound(scope, error), signal);
  }
}

/**
 * Waits for the download's answer. A stream that closes before it answers (a connection dropped
 * at the wrong moment) fails as transient rather than leaving the wait unsettled.
 */
function responseOf(
  body: Readable,
  scope: ErrorScope,
): Promise<{ headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    body.once('response', (res: { statusCode?: number; headers: never }) => {
      if ((res.statusCode ?? 0) < 300) resolve(res);
    });
    body.once('error', reject);
    body.once('close', () =>
      reject(new TransientError(`The connection for ${scope.where} closed before an answer.`)),
    );
    // The SDK sends the request when the stream is first read; read(0) asks for nothing more.
    body.read(0);
  });
}

function metaOf(name: string, metadata: FileMetadata): BlobMeta {
  return {
    name,
    size: Number(metadata.size ?? 0),
    etag: String(metadata.generation),
    ...(metadata.updated ? { lastModified: new Date(metadata.updated) } : {}),
  };
}
