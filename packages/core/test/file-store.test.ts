import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BlobNotFoundError,
  FileBlobStore,
  fileStorageAdapter,
  listAll,
  PreconditionFailedError,
  readText,
  StorageError,
} from '../src/index.js';
import { useTempDir } from './helpers.js';

async function newStore() {
  return new FileBlobStore(join(await useTempDir('store'), 'objects'));
}

async function names(store: FileBlobStore, prefix: string, pageSize?: number) {
  const found: string[] = [];
  for await (const item of listAll(store, prefix, { pageSize })) found.push(item.name);
  return found;
}

/** Temporary and lock files left in the store's hidden folders. */
async function leftovers(store: FileBlobStore) {
  const tmp = await readdir(join(store.root, '.tmp')).catch(() => []);
  const locks = await readdir(join(store.root, '.locks')).catch(() => []);
  return [...tmp, ...locks];
}

describe('FileBlobStore basics', () => {
  it('puts, heads, gets, lists and deletes', async () => {
    const store = await newStore();
    expect(store.location).toBe(`file://${store.root}`);
    expect(store.capabilities.conditionalPut).toBe(true);

    const { etag } = await store.put('a/b.json', '{"x":1}');
    const meta = await store.head('a/b.json');
    expect(meta).toMatchObject({ name: 'a/b.json', size: 7, etag });
    expect(meta?.lastModified).toBeInstanceOf(Date);
    expect(await readText(store, 'a/b.json')).toEqual({ text: '{"x":1}', etag });
    expect((await store.list('')).items).toEqual([meta]);

    await store.delete('a/b.json');
    expect(await store.head('a/b.json')).toBeUndefined();
    expect((await store.list('')).items).toEqual([]);
    expect(await leftovers(store)).toEqual([]);
  });

  it('replaces an object with a plain put on a fresh store', async () => {
    const store = await newStore();
    await store.put('doc', 'one');
    await store.put('doc', 'two');
    expect((await readText(store, 'doc')).text).toBe('two');
  });

  it('accepts bytes and streams as bodies', async () => {
    const store = await newStore();
    await store.put('bytes', new Uint8Array([0, 1, 2, 255]));
    await store.put('stream', Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    expect((await store.head('bytes'))?.size).toBe(4);
    expect((await readText(store, 'stream')).text).toBe('abcd');
  });

  it('accepts a stream of strings, written as UTF-8', async () => {
    const store = await newStore();
    await store.put('strings', Readable.from(['ab', 'cdé', '']));
    expect((await readText(store, 'strings')).text).toBe('abcdé');
    expect((await store.head('strings'))?.size).toBe(6);
  });

  it('reports a missing object as BlobNotFoundError / undefined', async () => {
    const store = await newStore();
    await expect(store.get('nope')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.get('nope')).rejects.toMatchObject({ objectKey: 'nope' });
    expect(await store.head('nope')).toBeUndefined();
    await expect(store.delete('nope')).resolves.toBeUndefined();
  });

  it('does not mistake a folder for an object', async () => {
    const store = await newStore();
    await store.put('states/a/v1', 'x');
    expect(await store.head('states')).toBeUndefined();
    expect(await store.head('states/a')).toBeUndefined();
    await expect(store.get('states/a')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.delete('states/a')).resolves.toBeUndefined();
    expect(await names(store, '')).toEqual(['states/a/v1']);
  });

  it.each([
    '',
    '/a',
    'a/',
    'a//b',
    '.',
    '..',
    '../escape',
    'a/../../escape',
    'a/./b',
    'lone\ud800surrogate',
  ])('rejects the object name %j', async (name) => {
    const store = await newStore();
    await expect(store.put(name, 'x')).rejects.toBeInstanceOf(StorageError);
    await expect(store.get(name)).rejects.toBeInstanceOf(StorageError);
  });

  it('streams a multi-megabyte body in and out', async () => {
    const store = await newStore();
    const chunk = Buffer.alloc(64 * 1024);
    const chunks = 96; // 6 MiB
    const written = createHash('sha256');
    async function* body() {
      for (let index = 0; index < chunks; index++) {
        chunk.fill(index);
        written.update(chunk);
        yield Buffer.from(chunk);
      }
    }
    await store.put('big', Readable.from(body()), { size: chunk.length * chunks });
    const { body: read, size } = await store.get('big');
    expect(size).toBe(chunk.length * chunks);
    const readHash = createHash('sha256');
    let largestChunk = 0;
    for await (const piece of read) {
      readHash.update(piece as Buffer);
      largestChunk = Math.max(largestChunk, (piece as Buffer).length);
    }
    expect(readHash.digest('hex')).toBe(written.digest('hex'));
    // It arrived in pieces, not as one buffer of the whole object.
    expect(largestChunk).toBeLessThan(size);
  });

  it('writes nothing when the put is aborted', async () => {
    const store = await newStore();
    const controller = new AbortController();
    async function* slow() {
      yield 'start';
      controller.abort();
      yield 'never';
    }
    await expect(
      store.put('aborted', Readable.from(slow()), { signal: controller.signal }),
    ).rejects.toThrow();
    expect(await store.head('aborted')).toBeUndefined();
    expect(await leftovers(store)).toEqual([]);
  });

  it('writes into a folder removed since it last wrote there, and its own temporary folder', async () => {
    const store = await newStore();
    await store.put('a/b/one', '1', { ifNoneMatch: '*' });
    await store.put('a/b/two', '2');
    // Prune removes empty folders, and an operator may clear hidden ones.
    await rm(join(store.root, 'a'), { recursive: true });
    await rm(join(store.root, '.tmp'), { recursive: true });
    await store.put('a/b/three', '3', { ifNoneMatch: '*' });
    await rm(join(store.root, 'a'), { recursive: true });
    await store.put('a/b/four', '4');
    expect(await names(store, 'a/')).toEqual(['a/b/four']);
    expect((await readText(store, 'a/b/four')).text).toBe('4');
    expect(await leftovers(store)).toEqual([]);
  });

  it('gives a stalled stream body up when the signal aborts', async () => {
    const store = await newStore();
    const controller = new AbortController();
    const body = new Readable({ read() {} });
    body.push('first part');
    const put = store.put('stalled', body, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(put).rejects.toThrow(/cancelled|abort/i);
    expect(await store.head('stalled')).toBeUndefined();
    expect(await leftovers(store)).toEqual([]);
  });
});

describe('FileBlobStore conditional puts', () => {
  it('create-only fails on an existing object and changes nothing', async () => {
    const store = await newStore();
    const first = await store.put('v', 'first', { ifNoneMatch: '*' });
    await expect(store.put('v', 'second', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(await readText(store, 'v')).toEqual({ text: 'first', etag: first.etag });
    expect(await leftovers(store)).toEqual([]);
  });

  it('replace-if-match applies with the current etag and fails with a stale one', async () => {
    const store = await newStore();
    const first = await store.put('doc', 'one');
    const second = await store.put('doc', 'two', { ifMatch: first.etag });
    expect(second.etag).not.toBe(first.etag);
    await expect(store.put('doc', 'three', { ifMatch: first.etag })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(await readText(store, 'doc')).toEqual({ text: 'two', etag: second.etag });
    expect(await leftovers(store)).toEqual([]);
  });

  it('replace-if-match fails on a missing object', async () => {
    const store = await newStore();
    await expect(store.put('doc', 'x', { ifMatch: '"anything"' })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(await store.head('doc')).toBeUndefined();
  });

  it('never repeats an etag for same-size replacements', async () => {
    const store = await newStore();
    const etags = new Set<string>();
    for (let index = 0; index < 50; index++) {
      etags.add((await store.put('doc', `v${String(index).padStart(3, '0')}`)).etag);
    }
    expect(etags.size).toBe(50);
  });

  it('gives a replacement a newer mtime than the object it replaces', async () => {
    // File etags are inode + mtime + size, and a replaced file's inode is reused at once. With a
    // coarse or skewed clock the next write could get the old mtime too, so the old etag would
    // match again (ABA) and a compare-and-swap would overwrite a newer document. Simulate the
    // clock: push the current object's mtime ahead of the wall clock.
    const store = await newStore();
    const file = join(store.root, 'doc');
    const first = await store.put('doc', 'AAAA');
    const ahead = new Date(Date.now() + 60_000);
    await utimes(file, ahead, ahead);
    const replaced = await stat(file, { bigint: true });
    const second = await store.put('doc', 'BBBB', { ifMatch: (await store.head('doc'))?.etag });
    const now = await stat(file, { bigint: true });
    expect(now.mtimeNs).toBeGreaterThan(replaced.mtimeNs);
    expect((await store.head('doc'))?.etag).toBe(second.etag);
    expect(second.etag).not.toBe(first.etag);
  });
});

describe('FileBlobStore listing', () => {
  it('pages with limit and cursor, in name order', async () => {
    const store = await newStore();
    const all = Array.from({ length: 23 }, (_, index) => `items/${String(index).padStart(2, '0')}`);
    for (const name of [...all].reverse()) await store.put(name, name);

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list('items/', { limit: 5, cursor });
      pages.push(page.items.map((item) => item.name));
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(pages.map((page) => page.length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flat()).toEqual(all);
    expect(await names(store, 'items/', 7)).toEqual(all);
    // Exactly a full last page: no cursor promising more.
    expect((await store.list('items/', { limit: 23 })).cursor).toBeUndefined();
  });

  it('filters by prefix, including one that ends inside a segment', async () => {
    const store = await newStore();
    for (const name of [
      'states/alpha/v1',
      'states/alpha/v2',
      'states/alphabet/v1',
      'states/beta/v1',
      'states-old/x',
      'state-info.json',
    ]) {
      await store.put(name, 'x');
    }
    expect(await names(store, 'states/alpha/')).toEqual(['states/alpha/v1', 'states/alpha/v2']);
    expect(await names(store, 'states/alph')).toEqual([
      'states/alpha/v1',
      'states/alpha/v2',
      'states/alphabet/v1',
    ]);
    expect(await names(store, 'states/alpha/v')).toEqual(['states/alpha/v1', 'states/alpha/v2']);
    expect(await names(store, 'states')).toEqual([
      'states-old/x',
      'states/alpha/v1',
      'states/alpha/v2',
      'states/alphabet/v1',
      'states/beta/v1',
    ]);
    expect(await names(store, 'state-')).toEqual(['state-info.json']);
    expect(await names(store, 'missing/')).toEqual([]);
    expect(await names(store, '')).toHaveLength(6);
  });

  it('round-trips unusual names and keeps case apart', async () => {
    const store = await newStore();
    const unusual = [
      'Key',
      'key',
      'KEY',
      'with space/and.dot.',
      'ünïcödé/データ',
      'emoji/🚀',
      '.hidden/.file',
      'tilde~2f/caret^a',
      'per%2Fcent',
      'con/nul.txt',
    ];
    for (const name of unusual) await store.put(name, name);
    expect(await names(store, '')).toEqual([...unusual].sort());
    for (const name of unusual) expect((await readText(store, name)).text).toBe(name);
    expect(await names(store, 'Ke')).toEqual(['Key']);
    expect(await names(store, 'ünïcödé/')).toEqual(['ünïcödé/データ']);
  });

  it('ignores its own temporary and lock files', async () => {
    const store = await newStore();
    await store.put('a', 'x');
    await mkdir(join(store.root, '.tmp'), { recursive: true });
    await writeFile(join(store.root, '.tmp', '123-abc'), 'partial');
    await mkdir(join(store.root, '.locks'), { recursive: true });
    await writeFile(join(store.root, '.locks', 'x.lock'), '1');
    expect(await names(store, '')).toEqual(['a']);
  });
});

describe('fileStorageAdapter', () => {
  it('resolves a relative path from the base folder and reads file URLs', async () => {
    const dir = await useTempDir();
    const store = await fileStorageAdapter.create({ path: 'state' }, { baseDir: dir, env: {} });
    expect(store.location).toBe(`file://${join(dir, 'state')}`);
    await store.put('x', 'y');
    expect((await stat(join(dir, 'state', 'x'))).isFile()).toBe(true);
    expect(fileStorageAdapter.optionsFromUrl?.(pathToFileURL(join(dir, 's')))).toEqual({
      path: join(dir, 's'),
    });
  });

  it('names the bad option', () => {
    const result = fileStorageAdapter.optionsSchema.safeParse({ path: 3 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['path']);
    expect(fileStorageAdapter.optionsSchema.safeParse({ path: 'x', extra: 1 }).success).toBe(false);
  });
});
