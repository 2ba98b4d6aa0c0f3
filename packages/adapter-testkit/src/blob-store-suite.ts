import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AccessDeniedError,
  BlobNotFoundError,
  type BlobStore,
  hashStream,
  listAll,
  PreconditionFailedError,
  StoreNotFoundError,
} from '@defstate/core';
import type { ConformanceOptions } from './options.js';
import { generatedStream, peakRssGrowth, readAll } from './streams.js';

const MiB = 1024 * 1024;

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

/** A fresh namespace per test, and every object in it deleted afterwards. */
export function namespaced(options: ConformanceOptions) {
  return async <T>(body: (store: BlobStore, namespace: string) => Promise<T>): Promise<T> => {
    const namespace = `conformance-${randomBytes(6).toString('hex')}`;
    const store = await options.openStore(namespace);
    try {
      return await body(store, namespace);
    } finally {
      if (store.capabilities.delete) {
        for await (const item of listAll(store, '')) await store.delete(item.name);
      }
      await store.close?.();
    }
  };
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

async function text(store: BlobStore, name: string): Promise<string> {
  return (await readAll((await store.get(name)).body)).toString('utf8');
}

/** Registers the `BlobStore` contract tests. */
export function blobStoreSuite(options: ConformanceOptions): void {
  const { test, describe, expect } = options;
  const withStore = namespaced(options);
  const racers = options.racers ?? 8;

  describe(`${options.name}: BlobStore contract`, () => {
    test('round-trips empty, small, byte, string and stream bodies', () =>
      withStore(async (store) => {
        const bodies: Array<[string, Buffer, () => Buffer | string | Readable]> = [
          ['empty', Buffer.alloc(0), () => Buffer.alloc(0)],
          ['string', Buffer.from('hello, state'), () => 'hello, state'],
          ['bytes', Buffer.from([0, 1, 2, 255]), () => Buffer.from([0, 1, 2, 255])],
          [
            'stream',
            Buffer.from('abc'.repeat(1000)),
            () => Readable.from([Buffer.from('abc'.repeat(1000))]),
          ],
        ];
        for (const [name, expected, body] of bodies) {
          const { etag } = await store.put(`round-trip/${name}`, body());
          const read = await store.get(`round-trip/${name}`);
          expect((await readAll(read.body)).equals(expected), `${name} body`).toBe(true);
          expect(read.size, `${name} size`).toBe(expected.length);
          const head = await store.head(`round-trip/${name}`);
          expect(head?.size, `${name} head size`).toBe(expected.length);
          expect(head?.etag, `${name} etag`).toBe(etag);
        }
      }));

    test('reports missing objects: get throws BlobNotFoundError, head is undefined, delete is a no-op', () =>
      withStore(async (store) => {
        expect(await rejection(store.get('missing/object'))).toBeInstanceOf(BlobNotFoundError);
        expect(await store.head('missing/object')).toBeUndefined();
        if (!store.capabilities.delete) return;
        await store.delete('missing/object');
        await store.put('present', 'x');
        await store.delete('present');
        expect(await store.head('present')).toBeUndefined();
        expect(await rejection(store.get('present'))).toBeInstanceOf(BlobNotFoundError);
      }));

    test('keeps names with unusual characters apart and lists them exactly', () =>
      withStore(async (store) => {
        for (const name of UNUSUAL_NAMES) await store.put(name, `content of ${name}`);
        for (const name of UNUSUAL_NAMES)
          expect(await text(store, name), name).toBe(`content of ${name}`);
        const listed: string[] = [];
        for await (const item of listAll(store, '')) listed.push(item.name);
        expect(listed.sort()).toEqual([...UNUSUAL_NAMES].sort());
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

    test('create-only put fails on an existing object and leaves it unchanged', () =>
      withStore(async (store) => {
        await store.put('create-only', 'first', { ifNoneMatch: '*' });
        const error = await rejection(store.put('create-only', 'second', { ifNoneMatch: '*' }));
        expect(error).toBeInstanceOf(PreconditionFailedError);
        expect(await text(store, 'create-only')).toBe('first');
      }));

    test('replace-if-match succeeds on the current etag only', () =>
      withStore(async (store) => {
        const { etag: first } = await store.put('cas', 'one');
        const { etag: second } = await store.put('cas', 'two', { ifMatch: first });
        expect(second).not.toBe(first);
        expect(await rejection(store.put('cas', 'three', { ifMatch: first }))).toBeInstanceOf(
          PreconditionFailedError,
        );
        expect(await text(store, 'cas')).toBe('two');
        expect(await rejection(store.put('cas-missing', 'x', { ifMatch: first }))).toBeInstanceOf(
          PreconditionFailedError,
        );
        expect(await store.head('cas-missing')).toBeUndefined();
      }));

    test(`lets exactly one of ${racers} racing create-only writers win, every round`, () =>
      withStore(async (store) => {
        for (let round = 0; round < 3; round++) {
          const name = `race/create-${round}`;
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, (_, writer) =>
              store.put(name, `writer ${writer}`, { ifNoneMatch: '*' }),
            ),
          );
          const winners = outcomes.flatMap((outcome, writer) =>
            outcome.status === 'fulfilled' ? [writer] : [],
          );
          expect(winners.length, `round ${round} winners`).toBe(1);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected')
              expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
          }
          expect(await text(store, name)).toBe(`writer ${winners[0]}`);
        }
      }));

    test(`lets exactly one of ${racers} racing replace-if-match writers win, every round`, () =>
      withStore(async (store) => {
        let { etag } = await store.put('race/cas', 'initial');
        for (let round = 0; round < 3; round++) {
          const outcomes = await Promise.allSettled(
            Array.from({ length: racers }, (_, writer) =>
              store.put('race/cas', `round ${round} writer ${writer}`, { ifMatch: etag }),
            ),
          );
          const winners = outcomes.flatMap((outcome, writer) =>
            outcome.status === 'fulfilled' ? [writer] : [],
          );
          expect(winners.length, `round ${round} winners`).toBe(1);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected')
              expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
          }
          expect(await text(store, 'race/cas')).toBe(`round ${round} writer ${winners[0]}`);
          etag = (await store.head('race/cas'))?.etag ?? '';
        }
      }));

    const size = options.large?.size ?? 160 * MiB;
    const maxGrowth = options.large?.maxRssGrowth ?? 96 * MiB;
    test(
      `streams a ${Math.round(size / MiB)} MiB object both ways with RSS growing less than ${Math.round(maxGrowth / MiB)} MiB`,
      () =>
        withStore(async (store) => {
          const source = generatedStream(size, 42);
          const upload = await peakRssGrowth(() =>
            store.put('large/object', source.stream, { size }),
          );
          const download = await peakRssGrowth(async () =>
            hashStream((await store.get('large/object')).body),
          );
          expect(download.result.size).toBe(size);
          expect(download.result.sha256).toBe(source.sha256());
          expect((await store.head('large/object'))?.size).toBe(size);
          expect(
            upload.growth,
            `upload RSS growth ${Math.round(upload.growth / MiB)} MiB`,
          ).toBeLessThan(maxGrowth);
          expect(
            download.growth,
            `download RSS growth ${Math.round(download.growth / MiB)} MiB`,
          ).toBeLessThan(maxGrowth);
        }),
      600_000,
    );

    const { denied, missing } = options.failures ?? {};
    if (denied) {
      test('turns refused credentials into AccessDeniedError', async () => {
        const store = await denied(`conformance-${randomBytes(6).toString('hex')}`);
        try {
          expect(await rejection(store.put('denied', 'x'))).toBeInstanceOf(AccessDeniedError);
          expect(await rejection(store.get('denied'))).toBeInstanceOf(AccessDeniedError);
        } finally {
          await store.close?.();
        }
      });
    }
    if (missing) {
      test('turns a missing bucket or container into StoreNotFoundError naming it', async () => {
        const store = await missing(`conformance-${randomBytes(6).toString('hex')}`);
        try {
          const error = await rejection(store.put('missing', 'x'));
          expect(error).toBeInstanceOf(StoreNotFoundError);
          expect(await rejection(store.get('missing'))).toBeInstanceOf(StoreNotFoundError);
        } finally {
          await store.close?.();
        }
      });
    }
  });
}
