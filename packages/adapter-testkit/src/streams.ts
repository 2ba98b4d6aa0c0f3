import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK = 1024 * 1024;

/**
 * A stream of `size` pseudo-random bytes made chunk by chunk, with its sha256 computed as it goes:
 * the test's own memory stays flat, so what the sampler sees is the adapter's.
 */
export function generatedStream(
  size: number,
  seed: number,
): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let produced = 0;
  let counter = seed;
  const stream = new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(CHUNK, size - produced);
      const chunk = Buffer.allocUnsafe(length);
      for (let offset = 0; offset + 4 <= length; offset += 4) {
        counter = (counter * 1_103_515_245 + 12_345) >>> 0;
        chunk.writeUInt32LE(counter, offset);
      }
      chunk.fill(7, length - (length % 4));
      hash.update(chunk);
      produced += length;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Samples RSS while `work` runs and returns how far it rose above where it started. */
export async function peakRssGrowth<T>(
  work: () => Promise<T>,
): Promise<{ result: T; growth: number }> {
  globalThis.gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}
