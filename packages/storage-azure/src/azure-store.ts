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
  DefstateError,
  type ListOptions,
  type ListPage,
  type OperationOptions,
  PreconditionFailedError,
  type PutOptions,
  type PutResult,
  TransientError,
} from '@defstate/core';
import {
  createTracer,
  DEFAULT_REQUEST_TIMEOUT_MS,
  guardBody,
  ObjectKeys,
  progressWatchdog,
  type Tracer,
  withDeadline,
} from '@defstate/core/adapter';
import { uploadInBlocks } from './block-upload.js';
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
 * - Anything larger is cut into `BLOCK_SIZE` blocks staged with Put Block (block-upload.ts), at
 *   most `UPLOAD_CONCURRENCY` buffers of it in memory at once (8 MiB × 4 = 32 MiB, whatever the
 *   object's size), then Put Block List commits them. Staged blocks are invisible: readers keep
 *   seeing the previous blob, or none, until the commit, which is atomic. So a crash mid-upload
 *   leaves nothing but uncommitted blocks, which Azure discards on its own (after a week, or at
 *   the blob's next commit).
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
 * Downloads stream `download().readableStreamBody` to the caller through core's `guardBody`; a
 * broken body may be resumed by the SDK from where it stopped, pinned to the etag it started with.
 *
 * Time-outs: the SDK sets none of its own, so every request runs under core's `withDeadline`
 * (`requestTimeoutMs` until the answer, and the caller's signal), and uploads under a progress
 * watchdog that aborts every request of the upload when no byte moves for `requestTimeoutMs`.
 */

const MiB = 1024 * 1024;
export const BLOCK_SIZE = 8 * MiB;
export const UPLOAD_CONCURRENCY = 4;
export const SINGLE_PUT_LIMIT = BLOCK_SIZE;
/** Azure's cap on blocks in one block blob, which with our block size bounds the object size. */
const MAX_BLOCKS = 50_000;
const MAX_PAGE = 5_000;

export interface AzureStoreTuning {
  /** A request without an answer, or an upload without progress, for this long fails as transient. */
  requestTimeoutMs?: number;
  /** Where DEFSTATE_DEBUG is read from. */
  env?: NodeJS.ProcessEnv;
}

export class AzureBlobStore implements BlobStore {
  readonly adapter = 'azure';
  readonly capabilities = {
    conditionalPut: true,
    delete: true,
    maxObjectSize: BLOCK_SIZE * MAX_BLOCKS,
  } as const;
  readonly location: string;
  /** Where requests go: the blob service URL, without any query (a SAS is a secret). */
  readonly endpoint: string;
  readonly #container: ContainerClient;
  readonly #keys: ObjectKeys;
  readonly #scope: ErrorScope;
  readonly #timeoutMs: number;
  readonly #tracer: Tracer;
  /** `azblob://account/container/prefix`, for messages about one object. */
  readonly #base: string;

  constructor(client: AzureClient, prefix: string, tuning: AzureStoreTuning = {}) {
    this.#container = client.container;
    // Blob names are at most 1024 characters; the common name check keeps them inside the prefix.
    this.#keys = new ObjectKeys(prefix);
    this.endpoint = client.endpoint;
    const path = [client.container.containerName, prefix].filter(Boolean).join('/');
    this.#base = `azblob://${client.account}/${path}`;
    // The same form `optionsFromUrl` reads, so the location can be pasted into --storage.
    const custom = client.endpoint !== defaultAccountUrl(client.account);
    this.location = `azblob://${client.account}/${path}${custom ? `?endpoint=${client.endpoint}` : ''}`;
    this.#scope = {
      location: this.location,
      account: client.account,
      container: client.container.containerName,
      credentials: client.credentials,
    };
    this.#timeoutMs = tuning.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#tracer = createTracer('store:azure', { env: tuning.env });
  }

  get(name: string, options: OperationOptions = {}): Promise<BlobReadResult> {
    return this.#tracer.operation(
      'get',
      this.#where(name),
      () => this.#get(name, options),
      (result) => `${result.size} B etag ${result.etag}`,
    );
  }

  async #get(name: string, options: OperationOptions): Promise<BlobReadResult> {
    const blob = this.#container.getBlobClient(this.#keys.keyOf(name));
    try {
      const response = await this.#call('get', name, options.signal, (abortSignal) =>
        blob.download(0, undefined, { abortSignal, maxRetryRequests: DOWNLOAD_RESUMES }),
      );
      const source = (response.readableStreamBody as Readable | undefined) ?? Readable.from([]);
      return {
        name,
        size: response.contentLength ?? 0,
        etag: response.etag ?? '',
        lastModified: response.lastModified,
        body: guardBody(source, {
          what: this.#where(name),
          expectedBytes: response.contentLength,
          stallTimeoutMs: this.#timeoutMs,
          signal: options.signal,
          translate: (error) => this.#translateRead(error, name, options.signal),
        }),
      };
    } catch (error) {
      throw this.#translate(error, name, options.signal);
    }
  }

  head(name: string, options: OperationOptions = {}): Promise<BlobMeta | undefined> {
    return this.#tracer.operation(
      'head',
      this.#where(name),
      () => this.#head(name, options),
      (meta) => (meta ? `${meta.size} B etag ${meta.etag}` : 'absent'),
    );
  }

  async #head(name: string, options: OperationOptions): Promise<BlobMeta | undefined> {
    const blob = this.#container.getBlobClient(this.#keys.keyOf(name));
    try {
      const properties = await this.#call('head', name, options.signal, (abortSignal) =>
        blob.getProperties({ abortSignal }),
      );
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

  put(name: string, body: BlobBody, options: PutOptions = {}): Promise<PutResult> {
    return this.#tracer.operation(
      'put',
      this.#where(name),
      () => this.#put(name, body, options),
      (result) =>
        `etag ${result.etag}${options.ifNoneMatch ? ' (create-only)' : ''}${options.ifMatch ? ` (if-match ${options.ifMatch})` : ''}`,
    );
  }

  async #put(name: string, body: BlobBody, options: PutOptions): Promise<PutResult> {
    const blob = this.#container.getBlockBlobClient(this.#keys.keyOf(name));
    const conditions: BlobRequestConditions | undefined =
      options.ifNoneMatch === '*'
        ? { ifNoneMatch: '*' }
        : options.ifMatch !== undefined
          ? { ifMatch: options.ifMatch }
          : undefined;
    const blobHTTPHeaders: BlobHTTPHeaders = {
      blobContentType: options.contentType ?? 'application/octet-stream',
    };
    // Every request of the upload stops when the caller cancels, or when no byte has moved (read,
    // sent, or answered) for the time-out.
    const stop = new AbortController();
    const watchdog = progressWatchdog({
      what: `Azure Blob put of ${this.#where(name)}`,
      timeoutMs: this.#timeoutMs,
      onStall: (error) => stop.abort(error),
    });
    const onCancel = () =>
      stop.abort(
        new AbortedError(`Azure Blob put of ${this.#where(name)} was cancelled.`, {
          cause: options.signal?.reason,
        }),
      );
    if (options.signal?.aborted) onCancel();
    options.signal?.addEventListener('abort', onCancel, { once: true });
    const signal = stop.signal;
    const onProgress = () => watchdog.touch();
    const putOnce = async (bytes: Buffer) =>
      blob.upload(bytes, bytes.length, {
        conditions,
        blobHTTPHeaders,
        abortSignal: signal,
        onProgress,
      });

    try {
      if (signal.aborted) throw signal.reason;
      if (typeof body === 'string' || body instanceof Uint8Array) {
        return { etag: (await putOnce(toBuffer(body))).etag ?? '' };
      }
      let source: AsyncIterable<Uint8Array | string> = body;
      if (options.size === undefined || options.size <= SINGLE_PUT_LIMIT) {
        const start = await readUpTo(body, SINGLE_PUT_LIMIT, onProgress);
        if (start.whole) return { etag: (await putOnce(start.whole)).etag ?? '' };
        source = start.rest;
      }
      return await uploadInBlocks({
        blob,
        body: source,
        blockSize: BLOCK_SIZE,
        concurrency: UPLOAD_CONCURRENCY,
        maxBlocks: MAX_BLOCKS,
        conditions,
        blobHTTPHeaders,
        signal,
        onProgress,
        translate: (error) => this.#translate(error, name),
      });
    } catch (error) {
      if (typeof body === 'object' && 'destroy' in body && !body.destroyed) body.destroy();
      // Our own stop (a stall or the caller's cancel) is already typed and says why.
      if (signal.aborted && signal.reason instanceof DefstateError) throw signal.reason;
      throw this.#translate(error, name, options.signal);
    } finally {
      watchdog.stop();
      options.signal?.removeEventListener('abort', onCancel);
    }
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
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 1), MAX_PAGE);
    try {
      const page = await this.#call('list', prefix, options.signal, async (abortSignal) => {
        const pages = this.#container
          .listBlobsFlat({ prefix: this.#keys.listPrefixOf(prefix), abortSignal })
          .byPage({ continuationToken: options.cursor, maxPageSize: limit });
        return (await pages.next()).value as ContainerListBlobFlatSegmentResponse | undefined;
      });
      const items: BlobMeta[] = (page?.segment.blobItems ?? []).flatMap((item) => {
        const name = this.#keys.nameOf(item.name);
        return name === undefined
          ? []
          : [
              {
                name,
                size: item.properties.contentLength ?? 0,
                etag: item.properties.etag ?? '',
                lastModified: item.properties.lastModified,
              },
            ];
      });
      return page?.continuationToken ? { items, cursor: page.continuationToken } : { items };
    } catch (error) {
      throw this.#translate(error, undefined, options.signal);
    }
  }

  delete(name: string, options: OperationOptions = {}): Promise<void> {
    return this.#tracer.operation('delete', this.#where(name), async () => {
      const blob = this.#container.getBlobClient(this.#keys.keyOf(name));
      try {
        await this.#call('delete', name, options.signal, (abortSignal) =>
          blob.delete({ deleteSnapshots: 'include', abortSignal }),
        );
      } catch (error) {
        const translated = this.#translate(error, name, options.signal);
        if (!(translated instanceof BlobNotFoundError)) throw translated;
      }
    });
  }

  /** Nothing to release: the SDK shares one keep-alive HTTP client whose idle sockets are unref'd. */
  async close(): Promise<void> {}

  #where(name: string): string {
    return `${this.#base}/${name}`;
  }

  /** One SDK request, bounded by requestTimeoutMs and the caller's signal. */
  #call<T>(
    operation: string,
    name: string,
    signal: AbortSignal | undefined,
    request: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withDeadline(request, {
      what: `Azure Blob ${operation} of "${name}" in ${this.location}`,
      timeoutMs: this.#timeoutMs,
      signal,
    });
  }

  #translateRead(error: unknown, name: string, signal: AbortSignal | undefined): Error {
    const translated = this.#translate(error, name, signal);
    // A resumed read is pinned to the etag it started with; if the blob was replaced meanwhile,
    // the read failed, it did not lose a write race: reading again gets the new content.
    if (translated instanceof PreconditionFailedError) {
      return new TransientError(`"${name}" in ${this.location} changed while it was being read.`, {
        cause: error,
      });
    }
    return translated;
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
 * Otherwise: the bytes already read, then the rest, so nothing is read twice.
 */
async function readUpTo(
  stream: Readable,
  limit: number,
  onProgress: () => void,
): Promise<
  { whole: Buffer; rest?: undefined } | { whole?: undefined; rest: AsyncIterable<Buffer> }
> {
  const iterator = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  while (length <= limit) {
    const next = await iterator.next();
    onProgress();
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
  return { rest: everything() };
}
