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
 *   another version's bytes.
 *
 * - GCS answers 404 both for a missing object and a missing bucket. When an object call gets a
 *   404, the store asks once whether the bucket exists (and remembers a yes), so a missing bucket
 *   is a `StoreNotFoundError` naming it rather than an object that merely is not there.
 *
 * - The SDK's retries are off (see client.ts): core retries `TransientError`s with backoff.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AccessDeniedError,
  type BlobBody,
  type BlobMeta,
  BlobNotFoundError,
  type BlobReadResult,
  type BlobStore,
  type ListOptions,
  type ListPage,
  type OperationOptions,
  PreconditionFailedError,
  type PutOptions,
  type PutResult,
  StorageError,
  TransientError,
} from '@defstate/core';
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

export class GcsBlobStore implements BlobStore {
  readonly adapter = 'gcs';
  readonly capabilities = {
    conditionalPut: true,
    delete: true,
    maxObjectSize: MAX_OBJECT_SIZE,
  } as const;
  readonly location: string;
  readonly bucketName: string;
  /** `''` or `some/prefix/`: what every object name of this store starts with in the bucket. */
  readonly #root: string;
  readonly #client: GcsClient;
  readonly #stallTimeoutMs: number;
  #bucketSeen = false;
  #credentialsChecked: Promise<void> | undefined;

  constructor(
    client: GcsClient,
    bucket: string,
    prefix: string,
    { stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS }: { stallTimeoutMs?: number } = {},
  ) {
    this.#client = client;
    this.#stallTimeoutMs = stallTimeoutMs;
    this.bucketName = bucket;
    this.#root = prefix === '' ? '' : `${prefix}/`;
    this.location = `gs://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
  }

  async get(name: string, options: OperationOptions = {}): Promise<BlobReadResult> {
    const scope = this.#scope('get', name);
    await this.#ready(scope, options.signal);
    const body = this.#file(name).createReadStream();
    let response: { headers: Record<string, string | string[] | undefined> };
    try {
      response = await new Promise((resolve, reject) => {
        body.once('response', (res: { statusCode?: number; headers: never }) => {
          if ((res.statusCode ?? 0) < 300) resolve(res);
        });
        body.once('error', reject);
        // The SDK sends the request when the stream is first read; read(0) asks for nothing more.
        body.read(0);
      });
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
      const meta = await this.head(name, options);
      if (!meta) throw new BlobNotFoundError(name);
      return { ...meta, body: this.#readGeneration(name, meta.etag, scope) };
    }
    const lastModified = header('last-modified');
    const encoding = header('x-goog-stored-content-encoding');
    const out = this.#watchedBody(body, {
      scope,
      signal: options.signal,
      expected: encoding === undefined || encoding === 'identity' ? Number(size) : undefined,
    });
    return {
      name,
      size: Number(size),
      etag: generation,
      ...(lastModified ? { lastModified: new Date(lastModified) } : {}),
      body: out,
    };
  }

  async head(name: string, options: OperationOptions = {}): Promise<BlobMeta | undefined> {
    const scope = this.#scope('head', name);
    await this.#ready(scope, options.signal);
    try {
      const [metadata] = await this.#file(name).getMetadata();
      return metaOf(name, metadata);
    } catch (error) {
      const failure = await this.#failure(error, scope, options.signal);
      if (failure instanceof BlobNotFoundError) return undefined;
      throw failure;
    }
  }

  async put(name: string, body: BlobBody, options: PutOptions = {}): Promise<PutResult> {
    const scope = this.#scope('put', name);
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
    const file = this.#file(name);
    const contentType = options.contentType ?? 'application/octet-stream';
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
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
          metadata: {
            contentType,
            // A resumable upload that declares its length is refused if fewer bytes arrive.
            ...(resumable && size !== undefined ? { contentLength: size } : {}),
          },
          ...(ifGenerationMatch === undefined ? {} : { preconditionOpts: { ifGenerationMatch } }),
        }),
        { signal: options.signal },
      );
    } catch (error) {
      const failure = await this.#failure(error, scope, options.signal);
      // The bucket exists, so a 404 means the resumable session expired or was lost.
      if (failure instanceof BlobNotFoundError) {
        throw new TransientError(`The upload session for ${scope.where} was lost (HTTP 404).`, {
          cause: error,
        });
      }
      throw failure;
    }
    const metadata = file.metadata;
    if (metadata.generation === undefined || Number(metadata.size) !== sent) {
      throw new StorageError(
        `Google Cloud Storage stored ${metadata.size ?? 'an unknown number of'} bytes for ${scope.where} but ${sent} were sent.`,
        { hint: 'Check that apiEndpoint points at Google Cloud Storage or a faithful emulator.' },
      );
    }
    this.#bucketSeen = true;
    return { etag: String(metadata.generation) };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const scope = this.#scope('list', prefix || '(all)');
    await this.#ready(scope, options.signal);
    const limit = Math.max(1, Math.min(options.limit ?? DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE));
    try {
      const [files, next] = await this.#client.bucket.getFiles({
        prefix: this.#root + prefix,
        maxResults: limit,
        autoPaginate: false,
        ...(options.cursor === undefined ? {} : { pageToken: options.cursor }),
      });
      this.#bucketSeen = true;
      const items = files.map((file) => metaOf(file.name.slice(this.#root.length), file.metadata));
      const cursor = (next as { pageToken?: string } | null)?.pageToken;
      return cursor ? { items, cursor } : { items };
    } catch (error) {
      throw await this.#failure(error, scope, options.signal, true);
    }
  }

  async delete(name: string, options: OperationOptions = {}): Promise<void> {
    const scope = this.#scope('delete', name);
    await this.#ready(scope, options.signal);
    try {
      await this.#file(name).delete();
    } catch (error) {
      const failure = await this.#failure(error, scope, options.signal);
      if (!(failure instanceof BlobNotFoundError)) throw failure;
    }
  }

  async close(): Promise<void> {
    // The SDK keeps no sockets of its own beyond Node's keep-alive agent; nothing to release.
  }

  #file(name: string): File {
    assertObjectName(name);
    return this.#client.bucket.file(this.#root + name);
  }

  #readGeneration(name: string, generation: string, scope: ErrorScope): Readable {
    const source = this.#client.bucket
      .file(this.#root + name, { generation: Number(generation) })
      .createReadStream();
    return this.#watchedBody(source, { scope });
  }

  /**
   * The body as the caller reads it. The SDK's HTTP stack (node-fetch 2) does not report a
   * connection that drops in the middle of a fixed-length body: the stream just never ends. So
   * the bytes are counted, a body that ends short is an error, and a body that gets no bytes for
   * `stallTimeoutMs` while the reader is waiting for them fails as transient (core retries it).
   * SDK errors on the way arrive translated.
   */
  #watchedBody(
    source: Readable,
    {
      scope,
      signal,
      expected,
    }: { scope: ErrorScope; signal?: AbortSignal | undefined; expected?: number | undefined },
  ): Readable {
    let received = 0;
    const stallMs = this.#stallTimeoutMs;
    const out: Transform = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        timer.refresh();
        callback(null, chunk);
      },
      flush(callback) {
        clearTimeout(timer);
        if (expected !== undefined && received !== expected) {
          callback(
            new TransientError(
              `The download of ${scope.where} ended after ${received} of ${expected} bytes.`,
            ),
          );
        } else callback();
      },
    });
    const timer = setTimeout(function stalled() {
      // Bytes waiting in our buffers mean the reader is the slow side, not the network.
      if (out.readableLength > 0 || out.writableLength > 0) {
        timer.refresh();
        return;
      }
      out.destroy(
        new TransientError(
          `The download of ${scope.where} stalled: no data for ${stallMs / 1000} s after ${received} bytes.`,
          { hint: 'The connection may have dropped; it is retried.' },
        ),
      );
    }, stallMs);
    timer.unref();
    out.once('close', () => {
      clearTimeout(timer);
      source.destroy();
    });
    pipeline(source, out, { signal }).catch((error: unknown) => {
      clearTimeout(timer);
      out.destroy(translate(error, scope, signal));
    });
    return out;
  }

  #scope(operation: string, name: string): ErrorScope {
    return {
      operation,
      name,
      where: `${this.location}/${name}`,
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
    this.#credentialsChecked ??= this.#client.storage.authClient.getAccessToken().then(
      () => undefined,
      (error: unknown) => {
        this.#credentialsChecked = undefined; // a later call may find credentials that appeared
        throw error instanceof AccessDeniedError
          ? error
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
    if (!bucketLevel && (this.#bucketSeen || (await this.#bucketExists(scope)))) {
      return new BlobNotFoundError(scope.name, { cause: error });
    }
    return storeNotFound(scope, error);
  }

  async #bucketExists(scope: ErrorScope): Promise<boolean> {
    try {
      const [exists] = await this.#client.bucket.exists();
      if (exists) this.#bucketSeen = true;
      return exists;
    } catch (error) {
      throw translate(error, { ...scope, operation: `${scope.operation} (bucket check)` });
    }
  }
}

function metaOf(name: string, metadata: FileMetadata): BlobMeta {
  return {
    name,
    size: Number(metadata.size ?? 0),
    etag: String(metadata.generation),
    ...(metadata.updated ? { lastModified: new Date(metadata.updated) } : {}),
  };
}

// A lone surrogate has no UTF-8 form; GCS names are UTF-8 and may not hold CR or LF.
const UNSTORABLE = /[\r\n]|\p{Cs}/u;

/** Object names are `/`-separated, with no empty, `.` or `..` segment, like every store's. */
function assertObjectName(name: string): void {
  const bad =
    name.length === 0 ||
    UNSTORABLE.test(name) ||
    name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) throw new StorageError(`Invalid object name ${JSON.stringify(name)}.`);
}
