import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

export interface Digest {
  sha256: string;
  size: number;
}

/** Files up to this size are read whole: one read costs less than a stream's machinery. */
export const SMALL_FILE_BYTES = 256 * 1024;

/**
 * Larger files are read through one buffer of this size, filled anew by each read. A read stream
 * allocates a buffer per chunk instead, which V8 frees late (the bytes live outside its heap):
 * hashing 256 MiB that way peaked 28 MiB higher than this loop, and a refresh of a 1 GiB state on
 * the file store took 1.2–1.5× as long (`node scripts/bench/memory.mjs`).
 */
const READ_BUFFER_BYTES = 256 * 1024;

/** Hashes a file; memory stays flat whatever the file's size. */
export async function hashFile(path: string): Promise<Digest> {
  return (await readDigest(path)).digest;
}

/**
 * Hashes a file, and hands back its bytes when it is small (up to `SMALL_FILE_BYTES`), so that a
 * caller about to send it on need not read it again, and sends exactly the bytes it hashed.
 */
export async function readDigest(path: string): Promise<{ digest: Digest; bytes?: Buffer }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > SMALL_FILE_BYTES) return { digest: await hashHandle(handle) };
    const bytes = await handle.readFile();
    return { digest: digestOf(bytes), bytes };
  } finally {
    await handle.close();
  }
}

/** The digest of bytes in memory. */
export function digestOf(bytes: Uint8Array): Digest {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/** Reads a stream (or any source of byte chunks) to its end through sha256, keeping none of it. */
export async function hashStream(stream: AsyncIterable<unknown>): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Reads an open file from where it stands to its end through sha256, in one reused buffer. */
async function hashHandle(handle: FileHandle): Promise<Digest> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  let size = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestStream extends Transform {
  #hash = createHash('sha256');
  #size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    callback(null, chunk);
  }

  /** The digest of everything that passed; call once the stream has finished. */
  digest(): Digest {
    return { sha256: this.#hash.digest('hex'), size: this.#size };
  }
}
