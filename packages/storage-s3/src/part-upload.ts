import { crc32 } from 'node:zlib';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import {
  AbortedError,
  type DefstateError,
  type RetryPolicy,
  StorageError,
  withRetry,
} from '@defstate/core';
import type { S3Sdk } from './client.js';

/**
 * Streams a body of any size to S3 with memory bounded by `partSize × queueSize`: the body is
 * copied into a fixed pool of part buffers, each buffer goes up as one `UploadPart` while the next
 * one fills, and a buffer is reused as soon as its part is stored. The source is not read while
 * every buffer is in flight, which is the back-pressure. A body that ends within the first part
 * is sent as one `PutObject` instead.
 *
 * This replaces lib-storage's `Upload` for our bodies: its chunker concatenates incoming chunks
 * into a fresh buffer for every part, so a 160 MiB stream left ~150 MiB of part buffers for the
 * garbage collector (measured against moto), where this pool stays near 40 MiB. The protocol is
 * the same as `Upload`'s, checksums included: with `checksums`, the upload declares CRC32 and
 * every part carries its own, computed here from the part's buffer, which the store checks as it
 * receives the part and again, as a whole, on completion.
 *
 * A part that fails for a transient reason (a reset, a 503, a time-out) is sent again, a few times
 * with backoff, from the buffer that still holds it: one bad moment on a long upload costs one
 * part, not a restart from byte 0 (which is what core's retry around the whole put would do).
 * Re-sending a part is safe, since S3 keeps the last copy of each part number. The create and
 * complete requests are not retried here: completing carries the write's condition, and a
 * completion whose answer was lost must be judged by core's protocol, not repeated.
 */

export interface PartUploadRequest {
  client: S3Client;
  s3: S3Sdk['s3'];
  params: {
    Bucket: string;
    Key: string;
    ContentType?: string;
    IfNoneMatch?: string;
    IfMatch?: string;
  };
  body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  /** Expected byte count; the upload fails rather than store a different size. */
  size?: number;
  partSize: number;
  queueSize: number;
  signal?: AbortSignal;
  /** Turns SDK errors into core's, so transient part failures can be told apart. */
  translate: (error: unknown) => DefstateError;
  /** Declare CRC32 checksums, for the store to check (see options.ts for when). */
  checksums: boolean;
}

/** A CRC32 as S3 takes it in `x-amz-checksum-crc32`: four big-endian bytes, in base64. */
export function crc32Checksum(data: Uint8Array): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(data));
  return bytes.toString('base64');
}

/** The fields of a `PutObject` or `UploadPart` that declare `checksum`; none without one. */
export function declaredChecksum(checksum: string | undefined) {
  return checksum ? { ChecksumAlgorithm: 'CRC32' as const, ChecksumCRC32: checksum } : {};
}

const MAX_PARTS = 10_000;

/** Retries of one failed part: quick, since the rest of the upload waits for its buffer. */
export const PART_RETRY_POLICY: RetryPolicy = { retries: 4, baseDelayMs: 200, maxDelayMs: 4_000 };

export async function uploadInParts(request: PartUploadRequest): Promise<{ etag: string }> {
  const { client, s3, params, partSize, queueSize, signal, translate, checksums } = request;
  const sent = { abortSignal: signal };

  const free: Buffer[] = [];
  let allocated = 0;
  const waiting: Array<() => void> = [];
  const release = (buffer: Buffer) => {
    free.push(buffer);
    waiting.shift()?.();
  };
  /** A free part buffer; waits while `queueSize` parts are in flight. */
  const take = async (): Promise<Buffer> => {
    while (free.length === 0) {
      // Allocated pages are only touched as they fill, so an unused pool costs no memory.
      if (allocated < queueSize) {
        allocated++;
        return Buffer.allocUnsafeSlow(partSize);
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    return free.pop() as Buffer;
  };

  let uploadId: string | undefined;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let partNumber = 0;
  let total = 0;

  const startMultipart = async () => {
    const created = await client.send(
      new s3.CreateMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        ContentType: params.ContentType,
        ...(checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
      }),
      sent,
    );
    if (!created.UploadId) throw new StorageError('S3 started a multipart upload without an id.');
    uploadId = created.UploadId;
  };

  const dispatch = (buffer: Buffer, length: number) => {
    const number = ++partNumber;
    if (number > MAX_PARTS) {
      throw new StorageError(`The object is larger than ${MAX_PARTS} parts of ${partSize} bytes.`, {
        hint: 'Pass its size so the part size can grow.',
      });
    }
    const body = buffer.subarray(0, length);
    const checksum = checksums ? crc32Checksum(body) : undefined;
    const pending = withRetry(
      () =>
        client.send(
          new s3.UploadPartCommand({
            Bucket: params.Bucket,
            Key: params.Key,
            UploadId: uploadId,
            PartNumber: number,
            Body: body,
            ContentLength: length,
            ...declaredChecksum(checksum),
          }),
          sent,
        ),
      {
        policy: PART_RETRY_POLICY,
        signal,
        shouldRetry: (error) => !failure && translate(error).retryable,
      },
    )
      .then((output) => {
        parts.push({ PartNumber: number, ETag: output.ETag, ChecksumCRC32: checksum });
      })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        inFlight.delete(pending);
        release(buffer);
      });
    inFlight.add(pending);
  };

  let buffer = await take();
  let filled = 0;
  try {
    for await (const raw of request.body) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      for (let offset = 0; offset < chunk.byteLength; ) {
        const copied = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(
          buffer,
          filled,
          offset,
        );
        filled += copied;
        offset += copied;
        total += copied;
        if (filled < partSize) continue;
        if (uploadId === undefined) await startMultipart();
        dispatch(buffer, filled);
        buffer = await take();
        filled = 0;
        if (failure) throw failure.error;
        if (signal?.aborted) throw new AbortedError('The upload was cancelled.');
      }
    }
    if (request.size !== undefined && total !== request.size) {
      throw new StorageError(
        `The body had ${total} bytes where ${request.size} were announced; nothing was stored.`,
      );
    }
    if (uploadId === undefined) {
      // It all fit in one part: one PutObject, with the same conditions.
      const body = buffer.subarray(0, filled);
      const output = await client.send(
        new s3.PutObjectCommand({
          ...params,
          Body: body,
          ContentLength: filled,
          ...declaredChecksum(checksums ? crc32Checksum(body) : undefined),
        }),
        sent,
      );
      return { etag: output.ETag ?? '' };
    }
    if (filled > 0) dispatch(buffer, filled);
    while (inFlight.size > 0) await Promise.all(inFlight);
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    // The conditions ride on the completion: until then the parts are invisible, so the object
    // is created (If-None-Match) or replaced (If-Match) atomically, or not at all.
    const output = await client.send(
      new s3.CompleteMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: checksums ? parts : parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })),
        },
        IfNoneMatch: params.IfNoneMatch,
        IfMatch: params.IfMatch,
      }),
      sent,
    );
    uploadId = undefined;
    return { etag: output.ETag ?? '' };
  } catch (error) {
    await Promise.allSettled([...inFlight]);
    if (uploadId !== undefined) {
      // Best effort: stored parts cost money until aborted. A failed abort is left to the
      // bucket's lifecycle rule; the original error is the one worth reporting.
      await client
        .send(
          new s3.AbortMultipartUploadCommand({
            Bucket: params.Bucket,
            Key: params.Key,
            UploadId: uploadId,
          }),
        )
        .catch(() => {});
    }
    throw error;
  }
}
