/**
 * A `BlobStore` on Amazon S3 and S3-compatible stores (MinIO, R2, moto).
 *
 * Why it is built this way:
 *
 * Uploads. State can be hundreds of MB and memory must stay flat, so nothing is ever read whole.
 * A body whose size is known and small (≤ one part, 8 MiB) goes up in one `PutObject` with its
 * `Content-Length`, streamed from its source: one request, the cheapest path for the common case
 * (the state info document, small states). Anything larger, or of unknown size, is a multipart
 * upload (part-upload.ts): the stream is copied into a fixed pool of 4 part buffers of 8 MiB, so
 * at most 4 parts are in flight and memory stays near 40 MiB whatever the object's size; a
 * stream that ends within its first part still becomes a single `PutObject`. For known sizes the
 * part size grows past 8 MiB only when needed to stay under S3's 10,000 parts. lib-storage's
 * `Upload` does the same protocol, but allocates a fresh buffer per part and, measured on a
 * 160 MiB upload, let RSS grow by ~150 MiB where the kit allows 96.
 *
 * Conditional writes. Core's protocol needs create-only puts (immutable state versions) and
 * replace-if-match puts (the latest pointer) to be atomic in the store itself; a check-then-write
 * from here would race. S3 does both natively since 2024:
 * - create-only sends `If-None-Match: *` on `PutObject`, or on `CompleteMultipartUpload` for a
 *   multipart upload: parts are invisible until completion, and the completion either creates
 *   the object or fails with 412 (moto enforces it there too; tested).
 * - replace-if-match sends `If-Match: <etag>`. Whenever the size is known (always, for core's own
 *   if-match writes) it is one streamed `PutObject`, where every S3 implementation we know
 *   honours it, even above 8 MiB (a single put takes up to 5 GiB). Only a body of unknown size
 *   larger than one part falls back to a multipart upload with `If-Match` on the completion:
 *   AWS S3 honours that, but moto 5.2.1 ignores it (and some compatible stores may too), so pass
 *   `size` for if-match writes to such stores.
 * - a lost condition is 412 `PreconditionFailed`, or 409 `ConditionalRequestConflict` when two
 *   conditional writes to one key overlap; `If-Match` on a missing object is 404. All three
 *   become `PreconditionFailedError`, which core's compare-and-swap re-reads and retries on.
 * - a failed multipart upload is aborted, so a lost race leaves no parts behind. A lifecycle rule
 *   for incomplete multipart uploads covers processes that are killed.
 *
 * Downloads stream the `GetObject` body as it arrives, through core's `guardBody`: a body cut
 * short of its `Content-Length`, broken off or stalled fails as a `TransientError`, never as a
 * raw socket error. Retries are core's (see client.ts), with one exception: a failed part of a
 * multipart upload is retried on its own (part-upload.ts), since its bytes are still in memory
 * and restarting a multi-GB upload from byte 0 for one reset would be a waste. Every SDK error
 * is translated in errors.ts.
 *
 * A process killed mid-upload leaves its parts stored and billed but invisible. S3 keeps them
 * until the upload is aborted, so `removeAbandonedUploads` aborts those under the store's prefix
 * older than a grace period, judged by the S3 server's clock; core calls it on the next run and
 * in prune. A lifecycle rule for incomplete multipart uploads is the belt to these braces.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type BlobBody,
  type BlobMeta,
  BlobNotFoundError,
  type BlobReadResult,
  type BlobStore,
  type ListOptions,
  type ListPage,
  type OperationOptions,
  type PutOptions,
  type PutResult,
} from '@defstate/core';
import {
  type AbandonedUploadRemover,
  createTracer,
  DEFAULT_REQUEST_TIMEOUT_MS,
  guardBody,
  ObjectKeys,
  type RemoveAbandonedUploadsOptions,
  StoreExistence,
  type Tracer,
} from '@defstate/core/adapter';
import { connect, type S3Connection, type S3Sdk } from './client.js';
import { bucketMissing, type ErrorContext, translateS3Error } from './errors.js';
import type { S3StoreOptions } from './options.js';
import { crc32Checksum, declaredChecksum, uploadInParts } from './part-upload.js';

const MiB = 1024 * 1024;
/** Part size of multipart uploads, and the largest body sent as one `PutObject` by default. */
export const PART_SIZE = 8 * MiB;
/** Parts in flight at once: memory ≈ PART_SIZE × QUEUE_SIZE. */
export const QUEUE_SIZE = 4;
const MAX_PARTS = 10_000;
/** S3's limit for a single `PutObject`. */
const MAX_SINGLE_PUT = 5 * 1024 * MiB;
/** S3's largest object. */
const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;
/** S3 returns at most 1000 keys per list request. */
const MAX_LIST_PAGE = 1000;

export class S3BlobStore implements BlobStore, AbandonedUploadRemover {
  readonly adapter = 's3';
  readonly capabilities = {
    conditionalPut: true,
    delete: true,
    maxObjectSize: MAX_OBJECT_SIZE,
  } as const;
  readonly location: string;
  /** Where requests go: the configured endpoint, or `https://s3.<region>.amazonaws.com`. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly #sdk: S3Sdk;
  readonly #client: S3Client;
  readonly #credentialSource: string;
  readonly #keys: ObjectKeys;
  readonly #stallTimeoutMs: number;
  readonly #tracer: Tracer;
  /** A HEAD's 404 is a missing object once the bucket is known to exist. */
  readonly #existence: StoreExistence;
  /** Whether uploads declare CRC32 checksums for the store to check (the `checksums` option). */
  readonly #checksums: boolean;

  /** Opens a store; loads the AWS SDK on first call. */
  static async open(
    options: S3StoreOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<S3BlobStore> {
    return new S3BlobStore(options, await connect(options, env), env);
  }

  private constructor(options: S3StoreOptions, connection: S3Connection, env: NodeJS.ProcessEnv) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.#sdk = connection.sdk;
    this.#client = connection.client;
    this.#credentialSource = connection.credentialSource;
    this.endpoint = connection.endpoint;
    // S3 keys are opaque UTF-8 strings of at most 1024 bytes: no escaping, only the common check.
    this.#keys = new ObjectKeys(options.prefix, { maxKeyBytes: 1024, keyWord: 'an S3 key' });
    this.#stallTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#checksums = options.checksums === 'crc32';
    this.location = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`;
    this.#tracer = createTracer('store:s3', { env });
    this.#existence = new StoreExistence((signal) => this.#bucketExists(signal));
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
    const context = this.#context('get', name);
    try {
      const output = await this.#client.send(
        new this.#sdk.s3.GetObjectCommand({ Bucket: this.bucket, Key: this.#keys.keyOf(name) }),
        { abortSignal: options.signal },
      );
      this.#existence.markSeen();
      const meta = metaOf(name, output);
      const body = guardBody(output.Body as Readable, {
        what: this.#where(name),
        expectedBytes: output.ContentLength,
        stallTimeoutMs: this.#stallTimeoutMs,
        signal: options.signal,
        translate: (error) => translateS3Error(error, context),
      });
      return { ...meta, body };
    } catch (error) {
      throw translateS3Error(error, context);
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
    const context = this.#context('head', name);
    try {
      const output = await this.#client.send(
        new this.#sdk.s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.#keys.keyOf(name) }),
        { abortSignal: options.signal },
      );
      this.#existence.markSeen();
      return metaOf(name, output);
    } catch (error) {
      // A HEAD response has no body, so a missing bucket and a missing key are the same bare
      // 404. Ask the bucket once; after that, a 404 means the object.
      if (
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      ) {
        const missing = await this.#existence.notFound(
          name,
          error,
          () => bucketMissing(this.bucket, this.location, error),
          options.signal,
        );
        if (missing instanceof BlobNotFoundError) return undefined;
        throw missing;
      }
      throw translateS3Error(error, context);
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
    const context = { ...this.#context('put', name), ifMatch: options.ifMatch !== undefined };
    const params = {
      Bucket: this.bucket,
      Key: this.#keys.keyOf(name),
      ContentType: options.contentType,
      IfNoneMatch: options.ifNoneMatch,
      IfMatch: options.ifMatch,
    };
    const size = options.size ?? sizeOf(body);
    try {
      const single =
        size !== undefined &&
        (size <= PART_SIZE || (options.ifMatch !== undefined && size <= MAX_SINGLE_PUT));
      if (single) {
        // A body already in memory carries its checksum; a stream would have to be read twice.
        const checksum =
          this.#checksums && (typeof body === 'string' || body instanceof Uint8Array)
            ? crc32Checksum(typeof body === 'string' ? Buffer.from(body) : body)
            : undefined;
        const output = await this.#client.send(
          new this.#sdk.s3.PutObjectCommand({
            ...params,
            Body: body,
            ContentLength: size,
            ...declaredChecksum(checksum),
          }),
          { abortSignal: options.signal },
        );
        this.#existence.markSeen();
        return { etag: output.ETag ?? '' };
      }
      const output = await uploadInParts({
        client: this.#client,
        s3: this.#sdk.s3,
        params,
        body: typeof body === 'string' || body instanceof Uint8Array ? [body] : body,
        size,
        partSize: size === undefined ? PART_SIZE : Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS)),
        queueSize: QUEUE_SIZE,
        signal: options.signal,
        translate: (error) => translateS3Error(error, context),
        checksums: this.#checksums,
      });
      this.#existence.markSeen();
      return output;
    } catch (error) {
      throw translateS3Error(error, context);
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
    const context = this.#context('list', prefix);
    const limit = Math.min(Math.max(1, options.limit ?? MAX_LIST_PAGE), MAX_LIST_PAGE);
    try {
      const output = await this.#client.send(
        new this.#sdk.s3.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.#keys.listPrefixOf(prefix),
          MaxKeys: limit,
          ContinuationToken: options.cursor,
        }),
        { abortSignal: options.signal },
      );
      this.#existence.markSeen();
      const items = (output.Contents ?? []).flatMap((object): BlobMeta[] => {
        const name = object.Key === undefined ? undefined : this.#keys.nameOf(object.Key);
        return name === undefined
          ? []
          : [
              {
                name,
                size: object.Size ?? 0,
                etag: object.ETag ?? '',
                lastModified: object.LastModified,
              },
            ];
      });
      return output.IsTruncated && output.NextContinuationToken
        ? { items, cursor: output.NextContinuationToken }
        : { items };
    } catch (error) {
      throw translateS3Error(error, context);
    }
  }

  delete(name: string, options: OperationOptions = {}): Promise<void> {
    return this.#tracer.operation('delete', this.#where(name), async () => {
      try {
        // S3 answers 204 for a key that does not exist, so a missing object is not an error.
        await this.#client.send(
          new this.#sdk.s3.DeleteObjectCommand({
            Bucket: this.bucket,
            Key: this.#keys.keyOf(name),
          }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw translateS3Error(error, this.#context('delete', name));
      }
    });
  }

  /**
   * Aborts the multipart uploads under this store's prefix that were started more than
   * `olderThanMs` ago, by the S3 server's clock (its `Date` header), so that a skewed local clock
   * cannot abort an upload in progress. Returns how many it aborted.
   */
  removeAbandonedUploads({ olderThanMs, signal }: RemoveAbandonedUploadsOptions): Promise<number> {
    return this.#tracer.operation(
      'remove abandoned uploads',
      `${this.location}/*`,
      async () => {
        const context = this.#context('remove abandoned uploads', '');
        let removed = 0;
        let keyMarker: string | undefined;
        let uploadIdMarker: string | undefined;
        try {
          do {
            const command = new this.#sdk.s3.ListMultipartUploadsCommand({
              Bucket: this.bucket,
              Prefix: this.#keys.root,
              KeyMarker: keyMarker,
              UploadIdMarker: uploadIdMarker,
            });
            let serverNow: number | undefined;
            command.middlewareStack.add(
              (next) => async (args) => {
                const result = await next(args);
                const date = (result.response as { headers?: Record<string, string> }).headers
                  ?.date;
                if (date && !Number.isNaN(Date.parse(date))) serverNow = Date.parse(date);
                return result;
              },
              { step: 'deserialize', name: 'defstateServerClock' },
            );
            const output = await this.#client.send(command, { abortSignal: signal });
            const now = serverNow ?? Date.now();
            for (const upload of output.Uploads ?? []) {
              const { Key: key, UploadId: uploadId, Initiated: initiated } = upload;
              if (!key || !uploadId || !initiated || this.#keys.nameOf(key) === undefined) continue;
              if (now - initiated.getTime() < olderThanMs) continue;
              await this.#client
                .send(
                  new this.#sdk.s3.AbortMultipartUploadCommand({
                    Bucket: this.bucket,
                    Key: key,
                    UploadId: uploadId,
                  }),
                  { abortSignal: signal },
                )
                .catch((error: unknown) => {
                  // Finished or aborted by someone else meanwhile: nothing left to remove.
                  if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
                });
              removed++;
            }
            keyMarker = output.IsTruncated ? output.NextKeyMarker : undefined;
            uploadIdMarker = output.IsTruncated ? output.NextUploadIdMarker : undefined;
          } while (keyMarker !== undefined);
        } catch (error) {
          throw translateS3Error(error, context);
        }
        return removed;
      },
      (removed) => `${removed} aborted`,
    );
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #bucketExists(signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.#client.send(new this.#sdk.s3.HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: signal,
      });
      return true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404) return false;
      throw translateS3Error(error, this.#context('check bucket', ''));
    }
  }

  #where(name: string): string {
    return `${this.location}/${name}`;
  }

  #context(operation: ErrorContext['operation'], name: string): ErrorContext {
    return {
      operation,
      name,
      bucket: this.bucket,
      location: this.location,
      credentialSource: this.#credentialSource,
    };
  }
}

function sizeOf(body: BlobBody): number | undefined {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return undefined;
}

/** What GetObject and HeadObject both answer about an object. */
function metaOf(
  name: string,
  output: { ContentLength?: number; ETag?: string; LastModified?: Date },
): BlobMeta {
  return {
    name,
    size: output.ContentLength ?? 0,
    etag: output.ETag ?? '',
    lastModified: output.LastModified,
  };
}
