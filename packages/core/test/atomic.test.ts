import type { FileHandle } from 'node:fs/promises';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../src/fs/atomic.js';
import { useTempDir } from './helpers.js';

/** Faults the mocked file system injects into the code under test. */
const faults = vi.hoisted(() => ({ failWriteMidway: false, failRename: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const ioError = (syscall: string) =>
    Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: 'EIO', syscall });
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>): Promise<FileHandle> => {
      const handle = await actual.open(...args);
      if (faults.failWriteMidway) {
        // Write the first half for real, then fail as a full disk or a yanked USB stick would.
        handle.writeFile = async (data) => {
          const bytes = Buffer.from(data as string | Uint8Array);
          await handle.write(bytes.subarray(0, bytes.length >> 1));
          throw ioError('write');
        };
      }
      return handle;
    },
    rename: async (...args: Parameters<typeof actual.rename>) => {
      if (faults.failRename) throw ioError('rename');
      return actual.rename(...args);
    },
  };
});

afterEach(() => {
  faults.failWriteMidway = false;
  faults.failRename = false;
});

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temporary file', async () => {
    const dir = await useTempDir();
    const target = join(dir, 'info.json');
    await writeFileAtomic(target, 'first');
    await writeFileAtomic(target, new TextEncoder().encode('second'));
    expect(await readFile(target, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['info.json']);
  });

  it('keeps the old file whole when a write fails midway', async () => {
    const dir = await useTempDir();
    const target = join(dir, 'info.json');
    await writeFile(target, 'old content');
    faults.failWriteMidway = true;
    await expect(writeFileAtomic(target, 'x'.repeat(100_000))).rejects.toMatchObject({
      code: 'EIO',
    });
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['info.json']);
  });

  it('keeps the old file whole when the rename fails', async () => {
    const dir = await useTempDir();
    const target = join(dir, 'info.json');
    await writeFile(target, 'old content');
    faults.failRename = true;
    await expect(writeFileAtomic(target, 'new content')).rejects.toMatchObject({ code: 'EIO' });
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['info.json']);
  });

  it('lets concurrent writers race without tearing the file', async () => {
    const dir = await useTempDir();
    const target = join(dir, 'doc');
    const contents = Array.from({ length: 20 }, (_, index) => String(index).repeat(10_000));
    await Promise.all(contents.map((content) => writeFileAtomic(target, content)));
    expect(contents).toContain(await readFile(target, 'utf8'));
    expect(await readdir(dir)).toEqual(['doc']);
  });
});
