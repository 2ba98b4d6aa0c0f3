// Shared by the 512 MiB transfer benchmarks: the state file they move, and the table they print.
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

/**
 * Prints adapter against SDK for both directions. `figures` maps `adapter-upload`,
 * `sdk-upload`, `adapter-download` and `sdk-download` to `{ rate, rss }` in MiB/s and MiB.
 */
export function printTransferTable(title, sizeMiB, figures) {
  // `adapter-upload`, `adapter-download`, and any variant such as `adapter-upload, checksums off`,
  // each against the SDK's transfer in the same direction.
  const variants = Object.keys(figures)
    .filter((mode) => mode.startsWith('adapter-') && mode.includes(','))
    .map((mode) => mode.slice('adapter-'.length));
  const directions = ['upload', 'download', ...variants];
  const rows = directions.map((direction) => {
    const adapter = figures[`adapter-${direction}`];
    const sdk = figures[`sdk-${direction.split(',')[0]}`];
    return [
      direction,
      adapter.rate.toFixed(0),
      sdk.rate.toFixed(0),
      (adapter.rate / sdk.rate).toFixed(2),
      adapter.rss.toFixed(0),
      sdk.rss.toFixed(0),
    ];
  });
  const header = [
    `${sizeMiB} MiB`,
    'adapter MiB/s',
    'SDK MiB/s',
    'ratio',
    'adapter peak RSS MiB',
    'SDK peak RSS MiB',
  ];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells) => cells.map((cell, column) => cell.padStart(widths[column])).join('  ');
  console.log(title);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}
