import { Readable } from 'node:stream';
import type {
  BlobHTTPHeaders,
  BlobRequestConditions,
  ContainerClient,
  ContainerListBlobFlatSegmentResponse,
} from '@azure/storage-blob';
import {
  AbortedError,
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
import { type AzureClient, DOWNLOAD_RESUMES } from './client.js';
import { type ErrorScope, translateAzureError } from './errors.js';
import { defaultAccountUrl } from './options.js';

/**
 * A `BlobStore` on Azure Blob Storage (block blobs), and nothing more: versions, the latest
 * pointer, hashing and retries are core's.
 *
 * Why uploads look the way they do:
 *
 * - Bodies that fit in one block (strings, byte arrays, and streams that end within
 *   `SINGLE_PUT_LIMIT`) go up in ONE Put Blob request. That is the common case (state-info.json,
 *   most states), costs one round trip, and is atomic: the blob appears whole or not at all.
 *   A stream of unknown size is read up to that limit first to find out which case it is, so
 *   at most one block's worth of it is ever held.
 * - Anything larger streams through `BlockBlobClient.uploadStream`: the body is cut into
 *   `BLOCK_SIZE` blocks staged with Put Block, at most `UPLOAD_CONCURRENCY` buffers of it in
 *   memory at once (8 MiB × 4 = 32 MiB, whatever the object's size), then Put Block List commits
 *   them. Staged blocks are invisible: readers keep seeing the previous blob, or none, until the
 *   commit, which is atomic. So a crash mid-upload leaves nothing but uncommitted blocks, which
 *   Azure discards on its own (after a week, or at the blob's next commit).
 *
 * Why conditional writes are safe:
 *
 * - The condition rides on the request that makes the blob visible: Put Blob for one-shot
 *   uploads, Put Block List for block uploads (the SDK passes `conditions` to the commit; staging
 *   ignores them). Create-only sends `If-None-Match: *`; replace-if-match sends `If-Match: <etag>`
 *   with the etag exactly as the service gave it. Azure evaluates the condition and swaps the
 *   blob in one step, so of N racing writers exactly one wins.
 * - Losers are told apart by the answer: Azure (and Azurite) report an existing blob to a
 *   create-only write as 409 BlobAlreadyExists, not 412, and a stale etag as 412
 *   ConditionNotMet. Both become core's `PreconditionFailedError`, which core's compare-and-swap
 *   catches to re-read and merge. Racing block uploads cannot corrupt each other either: each
 *   upload names its blocks with its own random prefix, and a commit lists only its own blocks.
 * - The SDK's own retries are off (see client.ts): a retried conditional commit whose first
 *   attempt had landed would come back as a false conflict, and core already retries transient
 *   errors around the whole operation with backoff and jitter.
 *
 * Downloads stream `download().readableStreamBody` straight to the caller; a broken body may be
 * resumed by the SDK from where it stopped, pinned to the etag it started with.
 */

const MiB = 1024 * 1024;
export const BLOCK_SIZE = 8 * MiB;
export const UPLOAD_CONCURRENCY = 4;
export const SINGLE_PUT_LIMIT = BLOCK_SIZE;
/** Azure's cap on blocks in one block blob, which with our block size bounds the object size. */
const MAX_BLOCKS = 50_000;
const MAX_PAGE = 5_000;

// A lone surrogate has no UTF-8 form: two names differing only there would share one blob.
const LONE_SURROGATE = /\p{Cs}/u;

export class AzureBlobStore implements BlobStore {
  readonly adapter = 'azure';
  readonly capabilities = {
    conditionalPut: true,
    delete: true,
    maxObjectSize: BLOCK_SIZE * MAX_BLOCKS,
  } as const;
  readonly location: string;
  readonly #container: ContainerClient;
  /** `''` or the prefix with a trailing `/`. */
  readonly #root: string;
  readonly #scope: ErrorScope;

  constructor(client: AzureClient, prefix: string) {
    this.#container = client.container;
    this.#root = prefix === '' ? '' : `${prefix}/`;
    const path = [client.container.containerName, prefix].filter(Boolean).join('/');
    // The same form `optionsFromUrl` reads, so the location can be pasted into --storage.
    const custom = client.endpoint !== defaultAccountUrl(client.account);
    this.location = `azblob://${client.account}/${path}${custom ? `?endpoint=${client.endpoint}` : ''}`;
    this.#scope = {
      location: this.location,
      account: client.account,
      container: client.container.containerName,
      credentials: client.credentials,
    };
  }

  async get(name: string, options: OperationOptions = {}): Promise<BlobReadResult> {
    const blob = this.#container.getBlobClient(this.#blobName(name));
    try {
      const response = await blob.download(0, undefined, {
        abortSignal: options.signal,
        maxRetryRequests: DOWNLOAD_RESUMES,
      });
      const source = (response.readableStreamBody as Readable | undefined) ?? Readable.from([]);
      return {
        name,
        size: response.contentLength ?? 0,
        etag: response.etag ?? '',
        lastModified: response.lastModified,
        body: Readable.from(this.#translated(source, name, options.signal), {
          objectMode: false,
        }),
      };
    } catch (error) {
      throw this.#translate(error, name, options.signal);
    }
  }

  async head(name: string, options: OperationOptions = {}): Promise<BlobMeta | undefined> {
    const blob = this.#container.getBlobClient(this.#blobName(name));
    try {
      const properties = await blob.getProperties({ abortSignal: options.signal });
      return {
        name,
        size: properties.contentLength ?? 0,
        etag: properties.etag ?? '',
        lastModified: properties.lastModified,
      };
    } catch (error) {
      const translated = this.#translate(error, name, options.signal);
      if (translated instanceof BlobNotFoundError) return undefined;
      throw translated;
    }
  }

  async put(name: string, body: BlobBody, options: PutOptions = {}): Promise<PutResult> {
    const blob = this.#container.getBlockBlobClient(this.#blobName(name));
    const conditions: BlobRequestConditions | undefined =
      options.ifNoneMatch === '*'
        ? { ifNoneMatch: '*' }
        : options.ifMatch !== undefined
          ? { ifMatch: options.ifMatch }
          : undefined;
    const blobHTTPHeaders: BlobHTTPHeaders = {
      blobContentType: options.contentType ?? 'application/octet-stream',
    };
    const signal = options.signal;
    const putOnce = async (bytes: Buffer) =>
      blob.upload(bytes, bytes.length, { conditions, blobHTTPHeaders, abortSignal: signal });

    try {
      if (signal?.aborted) throw signal.reason ?? new AbortedError('Upload cancelled.');
      if (typeof body === 'string' || body instanceof Uint8Array) {
        return { etag: (await putOnce(toBuffer(body))).etag ?? '' };
      }
      let source: Readable = body;
      if (options.size === undefined || options.size <= SINGLE_PUT_LIMIT) {
        const start = await readUpTo(body, SINGLE_PUT_LIMIT);
        if (start.whole) return { etag: (await putOnce(start.whole)).etag ?? '' };
        source = start.rest;
      }
      // uploadStream does not hand the signal to its block uploads: stop it by failing its source.
      const abort = () => source.destroy(new AbortedError('Upload cancelled.'));
      signal?.addEventListener('abort', abort, { once: true });
      try {
        const response = await blob.uploadStream(source, BLOCK_SIZE, UPLOAD_CONCURRENCY, {
          conditions,
          blobHTTPHeaders,
          abortSignal: signal,
        });
        return { etag: response.etag ?? '' };
      } finally {
        signal?.removeEventListener('abort', abort);
        if (!source.destroyed) source.destroy();
      }
    } catch (error) {
      if (typeof body === 'object' && 'destroy' in body && !body.destroyed) body.destroy();
      throw this.#translate(error, name, signal);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 1), MAX_PAGE);
    try {
      const pages = this.#container
        .listBlobsFlat({ prefix: this.#root + prefix, abortSignal: options.signal })
        .byPage({ continuationToken: options.cursor, maxPageSize: limit });
      const page = (await pages.next()).value as ContainerListBlobFlatSegmentResponse | undefined;
      const items: BlobMeta[] = (page?.segment.blobItems ?? []).map((item) => ({
        name: item.name.slice(this.#root.length),
        size: item.properties.contentLength ?? 0,
        etag: item.properties.etag ?? '',
        lastModified: item.properties.lastModified,
      }));
      return page?.continuationToken ? { items, cursor: page.continuationToken } : { items };
    } catch (error) {
      throw this.#translate(error, undefined, options.signal);
    }
  }

  async delete(name: string, options: OperationOptions = {}): Promise<void> {
    const blob = this.#container.getBlobClient(this.#blobName(name));
    try {
      await blob.delete({ deleteSnapshots: 'include', abortSignal: options.signal });
    } catch (error) {
      const translated = this.#translate(error, name, options.signal);
      if (!(translated instanceof BlobNotFoundError)) throw translated;
    }
  }

  /** Nothing to release: the SDK shares one keep-alive HTTP client whose idle sockets are unref'd. */
  async close(): Promise<void> {}

  /** Object names are `/`-separated with no empty, `.` or `..` segment, so none leaves the prefix. */
  #blobName(name: string): string {
    const bad =
      name.length === 0 ||
      LONE_SURROGATE.test(name) ||
      name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
    if (bad) throw new StorageError(`Invalid object name ${JSON.stringify(name)}.`);
    return this.#root + name;
  }

  async *#translated(
    source: Readable,
    name: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of source) yield chunk as Buffer;
    } catch (error) {
      const translated = this.#translate(error, name, signal);
      // A resumed read is pinned to the etag it started with; if the blob was replaced meanwhile,
      // the read failed, it did not lose a write race: reading again gets the new content.
      if (translated instanceof PreconditionFailedError) {
        throw new TransientError(`"${name}" in ${this.location} changed while it was being read.`, {
          cause: error,
        });
      }
      throw translated;
    }
  }

  #translate(error: unknown, name?: string, signal?: AbortSignal): Error {
    return translateAzureError(error, this.#scope, name, signal);
  }
}

function toBuffer(body: string | Uint8Array): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * Reads a stream until it ends or has given more than `limit` bytes. Ended: its bytes, whole.
 * Otherwise: a stream of everything, the bytes already read first, so nothing is read twice.
 */
async function readUpTo(
  stream: Readable,
  limit: number,
): Promise<{ whole: Buffer; rest?: undefined } | { whole?: undefined; rest: Readable }> {
  const iterator = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  while (length <= limit) {
    const next = await iterator.next();
    if (next.done) return { whole: Buffer.concat(chunks, length) };
    const chunk = toBuffer(next.value as Buffer | string);
    chunks.push(chunk);
    length += chunk.length;
  }
  async function* everything(): AsyncGenerator<Buffer> {
    try {
      yield* chunks.splice(0);
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield toBuffer(next.value as Buffer | string);
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { rest: Readable.from(everything(), { objectMode: false }) };
}
