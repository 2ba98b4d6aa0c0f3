// A large state file for the transfer benchmarks: `size` pseudo-random bytes written chunk by
// chunk (memory stays flat), with their sha256 to check each download against.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;

export async function writeStateFile(file, size) {
  const hash = createHash('sha256');
  let counter = 42;
  async function* chunks() {
    for (let written = 0; written < size; written += MiB) {
      const chunk = Buffer.allocUnsafe(Math.min(MiB, size - written));
      for (let offset = 0; offset + 4 <= chunk.length; offset += 4) {
        counter = (counter * 1_103_515_245 + 12_345) >>> 0;
        chunk.writeUInt32LE(counter, offset);
      }
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(chunks, createWriteStream(file));
  return hash.digest('hex');
}
