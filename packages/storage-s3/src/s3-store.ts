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
 * Downloads stream the `GetObject` body as it arrives, through a pass-through that turns socket
 * errors into core's errors. Retries are core's (see client.ts), and every SDK error is
 * translated in errors.ts.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  BlobBody,
  BlobMeta,
  BlobReadResult,
  BlobStore,
  ListOptions,
  ListPage,
  OperationOptions,
  PutOptions,
  PutResult,
} from '@defstate/core';
import { connect, type S3Sdk } from './client.js';
import { bucketMissing, type ErrorContext, translateS3Error } from './errors.js';
import { keyRoot, listKeyPrefix, objectKey } from './object-keys.js';
import type { S3StoreOptions } from './options.js';
import { uploadInParts } from './part-upload.js';

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

export class S3BlobStore implements BlobStore {
  readonly adapter = 's3';
  readonly capabilities = {
    conditionalPut: true,
    delete: true,
    maxObjectSize: MAX_OBJECT_SIZE,
  } as const;
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly #sdk: S3Sdk;
  readonly #client: S3Client;
  readonly #credentialSource: string;
  readonly #root: string;
  /** Set once the bucket is known to exist, so a 404 on HEAD is a missing object. */
  #bucketSeen = false;

  /** Opens a store; loads the AWS SDK on first call. */
  static async open(
    options: S3StoreOptions,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<S3BlobStore> {
    const { sdk, client, credentialSource } = await connect(options, env);
    return new S3BlobStore(options, sdk, client, credentialSource);
  }

  private constructor(
    options: S3StoreOptions,
    sdk: S3Sdk,
    client: S3Client,
    credentialSource: string,
  ) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.#sdk = sdk;
    this.#client = client;
    this.#credentialSource = credentialSource;
    this.#root = keyRoot(options.prefix);
    this.location = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`;
  }

  async get(name: string, options: OperationOptions = {}): Promise<BlobReadResult> {
    const context = this.#context('get', name);
    try {
      const output = await this.#client.send(
        new this.#sdk.s3.GetObjectCommand({ Bucket: this.bucket, Key: this.#key(name) }),
        { abortSignal: options.signal },
      );
      this.#bucketSeen = true;
      return { ...metaOf(name, output), body: this.#guardBody(output.Body as Readable, context) };
    } catch (error) {
      throw translateS3Error(error, context);
    }
  }

  async head(name: string, options: OperationOptions = {}): Promise<BlobMeta | undefined> {
    const context = this.#context('head', name);
    try {
      const output = await this.#client.send(
        new this.#sdk.s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(name) }),
        { abortSignal: options.signal },
      );
      this.#bucketSeen = true;
      return metaOf(name, output);
    } catch (error) {
      // A HEAD response has no body, so a missing bucket and a missing key are the same bare
      // 404. Ask the bucket once; after that, a 404 means the object.
      if (
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      ) {
        await this.#ensureBucket(options.signal);
        return undefined;
      }
      throw translateS3Error(error, context);
    }
  }

  async put(name: string, body: BlobBody, options: PutOptions = {}): Promise<PutResult> {
    const context = { ...this.#context('put', name), ifMatch: options.ifMatch !== undefined };
    const params = {
      Bucket: this.bucket,
      Key: this.#key(name),
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
        const output = await this.#client.send(
          new this.#sdk.s3.PutObjectCommand({ ...params, Body: body, ContentLength: size }),
          { abortSignal: options.signal },
        );
        this.#bucketSeen = true;
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
      });
      this.#bucketSeen = true;
      return output;
    } catch (error) {
      throw translateS3Error(error, context);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const context = this.#context('list', prefix);
    const limit = Math.min(Math.max(1, options.limit ?? MAX_LIST_PAGE), MAX_LIST_PAGE);
    try {
      const output = await this.#client.send(
        new this.#sdk.s3.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: listKeyPrefix(this.#root, prefix),
          MaxKeys: limit,
          ContinuationToken: options.cursor,
        }),
        { abortSignal: options.signal },
      );
      this.#bucketSeen = true;
      const items = (output.Contents ?? []).flatMap((object): BlobMeta[] =>
        object.Key?.startsWith(this.#root)
          ? [
              {
                name: object.Key.slice(this.#root.length),
                size: object.Size ?? 0,
                etag: object.ETag ?? '',
                lastModified: object.LastModified,
              },
            ]
          : [],
      );
      return output.IsTruncated && output.NextContinuationToken
        ? { items, cursor: output.NextContinuationToken }
        : { items };
    } catch (error) {
      throw translateS3Error(error, context);
    }
  }

  async delete(name: string, options: OperationOptions = {}): Promise<void> {
    try {
      // S3 answers 204 for a key that does not exist, so a missing object is not an error.
      await this.#client.send(
        new this.#sdk.s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(name) }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw translateS3Error(error, this.#context('delete', name));
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #ensureBucket(signal: AbortSignal | undefined): Promise<void> {
    if (this.#bucketSeen) return;
    try {
      await this.#client.send(new this.#sdk.s3.HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: signal,
      });
      this.#bucketSeen = true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404) throw bucketMissing(this.bucket, this.location, error);
      throw translateS3Error(error, this.#context('check bucket', ''));
    }
  }

  /**
   * The SDK hands over the socket's response stream; a reset in the middle of it would reach the
   * reader as a raw socket error. This pass-through turns it into core's error and, when the
   * reader stops early, releases the socket.
   */
  #guardBody(body: Readable, context: ErrorContext): Readable {
    const guarded = new PassThrough({ highWaterMark: 1 * MiB });
    body.once('error', (error) => guarded.destroy(translateS3Error(error, context)));
    guarded.once('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(guarded);
    return guarded;
  }

  #key(name: string): string {
    return objectKey(this.#root, name);
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
