import { DefstateError, listAll } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';

/** Names that break naive adapters: spaces, unicode, URL-special characters, case twins, depth. */
export const UNUSUAL_NAMES = [
  'with space/and ü.txt',
  'Case/Twin',
  'case/twin',
  'a+b=c&d?e#f',
  'percent%20literal',
  'emoji-🚀/ключ',
  'deep/a/b/c/d/e/f/g',
  'dots.../x..y',
  'quote\'"',
  'tilde~caret^',
];

/** Names no store may hold: they would alias another name or leave the store's root. */
export const INVALID_NAMES = [
  '',
  '/leading',
  'trailing/',
  'double//slash',
  '.',
  '..',
  'a/../b',
  './a',
];

/** Names, namespaces and listing. */
export function namesSuite(kit: ConformanceKit): void {
  const { test, expect, withStore, rejection, text, options } = kit;

  test('keeps names with unusual characters apart and lists them exactly', () =>
    withStore(async (store) => {
      for (const name of UNUSUAL_NAMES) await store.put(name, `content of ${name}`);
      for (const name of UNUSUAL_NAMES)
        expect(await text(store, name), name).toBe(`content of ${name}`);
      const listed: string[] = [];
      for await (const item of listAll(store, '')) listed.push(item.name);
      expect(listed.sort()).toEqual([...UNUSUAL_NAMES].sort());
    }));

  test('refuses names that would alias another or leave the root, with a typed error', () =>
    withStore(async (store) => {
      for (const name of INVALID_NAMES) {
        expect(await rejection(store.put(name, 'x')), JSON.stringify(name)).toBeInstanceOf(
          DefstateError,
        );
      }
      expect((await store.list('')).items).toEqual([]);
    }));

  test('isolates namespaces from each other', () =>
    withStore(async (first, namespace) =>
      withStore(async (second) => {
        await first.put('shared/name', 'first');
        expect(await second.head('shared/name')).toBeUndefined();
        expect((await second.list('')).items).toEqual([]);
        const again = await options.openStore(namespace);
        expect(await text(again, 'shared/name')).toBe('first');
        await again.close?.();
      }),
    ));

  test('lists recursively: a prefix matches whole names, at any depth, with no folder entries', () =>
    withStore(async (store) => {
      await Promise.all(
        ['a/b/c', 'a/b2', 'a/c/d/e', 'ab', 'b'].map((name) => store.put(name, name)),
      );
      const under = async (prefix: string) => {
        const names: string[] = [];
        for await (const item of listAll(store, prefix)) names.push(item.name);
        return names;
      };
      expect(await under('a/')).toEqual(['a/b/c', 'a/b2', 'a/c/d/e']);
      expect(await under('a')).toEqual(['a/b/c', 'a/b2', 'a/c/d/e', 'ab']);
      expect(await under('a/b')).toEqual(['a/b/c', 'a/b2']);
    }));

  test('lists under a prefix across several pages, in name order', () =>
    withStore(async (store) => {
      const names = Array.from(
        { length: 25 },
        (_, index) => `list/item-${String(index).padStart(2, '0')}`,
      );
      await Promise.all(
        [...names, 'other/a', 'other/b', 'lis'].map((name) => store.put(name, name)),
      );
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list('list/', { limit: 10, cursor });
        pages.push(page.items.map((item) => item.name));
        cursor = page.cursor;
      } while (cursor !== undefined && pages.length < 10);
      expect(pages.length).toBeGreaterThan(2);
      expect(pages.flat()).toEqual(names);
      for (const page of pages) expect(page.length).toBeLessThan(11);
      const partial: string[] = [];
      for await (const item of listAll(store, 'list/item-1')) partial.push(item.name);
      expect(partial).toEqual(names.slice(10, 20));
      const sizes = (await store.list('list/item-00')).items.map((item) => item.size);
      expect(sizes).toEqual(['list/item-00'.length]);
    }));
}
