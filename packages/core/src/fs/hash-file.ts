import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

export interface Digest {
  sha256: string;
  size: number;
}

/** Streams a file through sha256; memory stays flat whatever the file's size. */
export async function hashFile(path: string): Promise<Digest> {
  return hashStream(createReadStream(path));
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
