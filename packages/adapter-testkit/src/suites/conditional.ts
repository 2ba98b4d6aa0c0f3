import { PreconditionFailedError } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';

/** Create-only and replace-if-match, which core's protocol is built on. */
export function conditionalSuite(kit: ConformanceKit): void {
  const { test, expect, withStore, rejection, text } = kit;

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

  test('the etag changes with every change of content, even of the same size', () =>
    withStore(async (store) => {
      const seen = new Set<string>();
      let { etag } = await store.put('etag', 'v0');
      seen.add(etag);
      for (let version = 1; version < 6; version++) {
        ({ etag } = await store.put('etag', `v${version}`, { ifMatch: etag }));
        expect(seen.has(etag), `etag of v${version} repeats an earlier one`).toBe(false);
        seen.add(etag);
        expect((await store.head('etag'))?.etag).toBe(etag);
      }
    }));
}
