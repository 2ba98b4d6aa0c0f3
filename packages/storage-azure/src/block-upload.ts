import { randomBytes } from 'node:crypto';
import type { BlobHTTPHeaders, BlobRequestConditions, BlockBlobClient } from '@azure/storage-blob';
import { type DefstateError, type RetryPolicy, StorageError, withRetry } from '@defstate/core';

/**
 * Streams a body larger than one block to a block blob with memory bounded by
 * `blockSize × concurrency`: the body is copied into a fixed pool of block buffers, each staged
 * with Put Block while the next fills, and a buffer is reused as soon as its block is stored.
 * Put Block List then commits the blocks, with the write's condition, in one atomic step.
 *
 * The SDK's `uploadStream` does the same, but it does not pass the caller's AbortSignal to its
 * Put Block requests, so a block whose connection stalls can hold the upload (and the process)
 * forever. Here every request carries the signal, reports its progress (for the store's stall
 * watchdog), and a block that fails for a transient reason is staged again from its buffer
 * rather than the whole upload restarting. Staged blocks are invisible until the commit; a failed
 * upload leaves only uncommitted blocks, which Azure discards on its own.
 */

export interface BlockUploadRequest {
  blob: BlockBlobClient;
  body: AsyncIterable<Uint8Array | string>;
  blockSize: number;
  concurrency: number;
  maxBlocks: number;
  conditions: BlobRequestConditions | undefined;
  blobHTTPHeaders: BlobHTTPHeaders;
  signal: AbortSignal;
  /** Called on every bit of progress: bytes read from the body, or sent on the wire. */
  onProgress: () => void;
  translate: (error: unknown) => DefstateError | Error;
}

export const BLOCK_RETRY_POLICY: RetryPolicy = {
  retries: 4,
  baseDelayMs: 200,
  maxDelayMs: 4_000,
};

export async function uploadInBlocks(request: BlockUploadRequest): Promise<{ etag: string }> {
  const { blob, blockSize, concurrency, signal, onProgress } = request;
  // Block ids must all have the same length; a random prefix per upload keeps racing uploads of
  // one blob from committing each other's blocks.
  const uploadId = randomBytes(12).toString('hex');
  const blockId = (index: number) =>
    Buffer.from(`${uploadId}-${String(index).padStart(6, '0')}`).toString('base64');

  const free: Buffer[] = [];
  let allocated = 0;
  const waiting: Array<() => void> = [];
  const release = (buffer: Buffer) => {
    free.push(buffer);
    waiting.shift()?.();
  };
  const take = async (): Promise<Buffer> => {
    while (free.length === 0) {
      if (allocated < concurrency) {
        allocated++;
        return Buffer.allocUnsafeSlow(blockSize);
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    return free.pop() as Buffer;
  };

  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const stage = (buffer: Buffer, length: number) => {
    const index = ids.length;
    if (index >= request.maxBlocks) {
      throw new StorageError(
        `The object is larger than ${request.maxBlocks} blocks of ${blockSize} bytes.`,
      );
    }
    const id = blockId(index);
    ids.push(id);
    const pending = withRetry(
      () =>
        blob.stageBlock(id, buffer.subarray(0, length), length, {
          abortSignal: signal,
          onProgress,
        }),
      {
        policy: BLOCK_RETRY_POLICY,
        signal,
        shouldRetry: (error) =>
          !failure &&
          !signal.aborted &&
          (request.translate(error) as DefstateError).retryable === true,
      },
    )
      .then(() => undefined)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        inFlight.delete(pending);
        release(buffer);
      });
    inFlight.add(pending);
  };

  try {
    let buffer = await take();
    let filled = 0;
    for await (const raw of request.body) {
      onProgress();
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      for (let offset = 0; offset < chunk.byteLength; ) {
        const copied = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(
          buffer,
          filled,
          offset,
        );
        filled += copied;
        offset += copied;
        if (filled < blockSize) continue;
        stage(buffer, filled);
        buffer = await take();
        filled = 0;
        if (failure) throw failure.error;
        if (signal.aborted) throw signal.reason;
      }
    }
    if (filled > 0) stage(buffer, filled);
    else release(buffer);
    while (inFlight.size > 0) await Promise.all(inFlight);
    if (failure) throw failure.error;
    // The condition rides on the commit: until then the blocks are invisible.
    const response = await blob.commitBlockList(ids, {
      conditions: request.conditions,
      blobHTTPHeaders: request.blobHTTPHeaders,
      abortSignal: signal,
    });
    return { etag: response.etag ?? '' };
  } finally {
    await Promise.allSettled([...inFlight]);
  }
}
