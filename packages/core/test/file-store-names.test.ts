import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createStateVersion,
  escapeName,
  FileBlobStore,
  keyToFolder,
  listAll,
  readText,
  StorageError,
  stateObjectName,
} from '../src/index.js';
import { currentNaming, legacyNaming } from '../src/store/file-names.js';
import { rejection, useTempDir } from './helpers.js';

async function names(store: FileBlobStore, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for await (const item of listAll(store, prefix)) found.push(item.name);
  return found.sort();
}

/** Keys of the shapes that overflowed a file name when key folders were escaped twice. */
const LONG_KEYS = [
  'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШ'.toLowerCase(),
  '数据仓库目录状态的键名称很长很长很长很长很长',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL',
  'Fivetran Connector: Salesforce (Prod) / Account 12345 / Schema CRM / All Tables / Region EU-West-1 / Replica B',
];

describe('file store names', () => {
  it('stores a state version of every kind of long key in a new store, escaped once', async () => {
    const store = new FileBlobStore(join(await useTempDir('names'), 'store'));
    for (const key of LONG_KEYS) {
      const name = stateObjectName(key, createStateVersion());
      await store.put(name, key, { ifNoneMatch: '*' });
      expect((await readText(store, name)).text).toBe(key);
      // The key folder is already file-safe: it is the file name, not escaped again.
      expect(await readdir(join(store.root, 'states'))).toContain(keyToFolder(key));
    }
    expect((await names(store, 'states/')).length).toBe(LONG_KEYS.length);
  });

  it('round-trips long non-ASCII keys through put, list and get (property)', async () => {
    const store = new FileBlobStore(join(await useTempDir('names'), 'store'));
    const version = createStateVersion();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 512 }).filter(
          (key) =>
            // biome-ignore lint/suspicious/noControlCharactersInRegex: keys refuse control characters.
            !/[\u0000-\u001f\u007f-\u009f]/.test(key) && key.length <= 512 && key !== '__proto__',
        ),
        async (key) => {
          const name = stateObjectName(key, version);
          await store.put(name, 'x');
          expect(await names(store, name)).toEqual([name]);
          expect((await readText(store, name)).text).toBe('x');
          await store.delete(name);
        },
      ),
      { numRuns: 120 },
    );
  }, 120_000);

  it('keeps reading and writing a store created before the current naming, where it was', async () => {
    const root = join(await useTempDir('names'), 'store');
    // As the previous naming wrote `states/^my^key/<version>`: every segment escaped again.
    const version = createStateVersion();
    await mkdir(join(root, 'states', '~5emy~5ekey'), { recursive: true });
    await writeFile(join(root, 'states', '~5emy~5ekey', escapeName(version)), 'old');
    const store = new FileBlobStore(root);
    expect(await names(store)).toEqual([`states/^my^key/${version}`]);
    expect((await readText(store, `states/^my^key/${version}`)).text).toBe('old');

    await store.put('states/^my^key/next', 'new');
    expect(await readdir(join(root, 'states', '~5emy~5ekey'))).toContain('next');
    // A long key that the old naming could never hold goes in under its own, marked name.
    const long = stateObjectName(LONG_KEYS[0] as string, version);
    await store.put(long, 'long');
    expect((await readText(store, long)).text).toBe('long');
    expect(await names(store, 'states/')).toContain(long);
    expect(await readdir(root)).not.toContain('.defstate-store.json');
  });

  it('marks a new store with the naming it uses', async () => {
    const store = new FileBlobStore(join(await useTempDir('names'), 'store'));
    await store.put('a', 'x');
    expect(JSON.parse(await readFile(join(store.root, '.defstate-store.json'), 'utf8'))).toEqual({
      names: 2,
    });
  });

  it('refuses a store marked by a newer naming', async () => {
    const root = join(await useTempDir('names'), 'store');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, '.defstate-store.json'), '{"names":3}');
    const error = await rejection(new FileBlobStore(root).get('a'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain('newer defstate');
  });

  it('both namings are injective and reversible, also on a disk that folds case (property)', () => {
    for (const naming of [currentNaming, legacyNaming]) {
      fc.assert(
        fc.property(
          fc.uniqueArray(
            fc
              .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
              .filter((segment) => segment !== '.' && segment !== '..' && !segment.includes('/')),
            { minLength: 2, maxLength: 30 },
          ),
          (segments) => {
            const files = segments.map((segment) => naming.toFile(segment));
            for (const [index, file] of files.entries()) {
              expect(naming.fromFile(file)).toBe(segments[index]);
              expect(file.startsWith('.')).toBe(false);
            }
            expect(new Set(files.map((file) => file.toLowerCase())).size).toBe(files.length);
          },
        ),
        { numRuns: 500 },
      );
    }
  });
});

describe('file store etags', () => {
  it('returns the etag of the object each put wrote, never a later writer’s', async () => {
    const store = new FileBlobStore(join(await useTempDir('etags'), 'store'));
    await store.put('doc', 'start');
    const etags = await Promise.all(
      Array.from({ length: 120 }, (_, index) => store.put('doc', `writer ${index}`)),
    );
    expect(new Set(etags.map(({ etag }) => etag)).size).toBe(etags.length);
  });
});
