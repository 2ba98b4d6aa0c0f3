import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { writeAll } from '../src/fs/atomic.js';
import { hashFile, readDigest, SMALL_FILE_BYTES } from '../src/fs/hash-file.js';
import type { BlobStore } from '../src/store/blob-store.js';
import { downloadStateVersion } from '../src/versioned/transfer.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'defstate-hash-file-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('hashing a file', () => {
  // Around the size read whole, and across several fills of the buffer a large file is read through.
  test.each([0, 1, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, 3 * SMALL_FILE_BYTES + 7])(
    '%i bytes: the digest of every byte, read once',
    async (size) => {
      const bytes = randomBytes(size);
      const file = join(folder, 'state');
      await writeFile(file, bytes);
      expect(await hashFile(file)).toEqual({ sha256: sha256(bytes), size });
      const read = await readDigest(file);
      expect(read.digest).toEqual({ sha256: sha256(bytes), size });
      // Small files come back with their bytes, to be sent on without a second read.
      if (size <= SMALL_FILE_BYTES) expect(read.bytes?.equals(bytes)).toBe(true);
      else expect(read.bytes).toBeUndefined();
    },
  );
});

describe('downloadStateVersion', () => {
  const info = {
    key: 'catalog',
    management: 'versioned' as const,
    version: '20261203T000000000Z-000000000000',
    createdAt: '2026-12-03T00:00:00.000Z',
    sha256: sha256(Buffer.from('state')),
    size: 5,
  };
  /** A store whose every download fails as soon as it starts, before anything reads it. */
  const failingStore = {
    location: 'memory://failing',
    get: async () => {
      const body = new Readable({ read() {} });
      process.nextTick(() => body.destroy(new Error('socket hang up')));
      return { body, size: 5, etag: '"1"' };
    },
  } as unknown as BlobStore;

  test('a body that fails at once is an error of the download, and nothing is left', async () => {
    const target = join(folder, 'state');
    await expect(downloadStateVersion(failingStore, info, target)).rejects.toThrow(
      'socket hang up',
    );
    expect(await readdir(folder)).toEqual([]);
  });
});

describe('writeAll', () => {
  test('writes the rest when one write takes fewer bytes than it was given', async () => {
    const file = join(folder, 'short-writes');
    const handle = await open(file, 'w');
    const bytes = randomBytes(1000);
    const calls: number[] = [];
    // A file handle whose writes take at most 300 bytes, as a write to a full pipe or an
    // interrupted one may.
    const short = {
      write: (data: Uint8Array, offset: number, length: number) => {
        calls.push(length);
        return handle.write(data, offset, Math.min(length, 300));
      },
    } as unknown as Parameters<typeof writeAll>[0];
    try {
      await writeAll(short, bytes);
    } finally {
      await handle.close();
    }
    expect(calls).toEqual([1000, 700, 400, 100]);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });
});
