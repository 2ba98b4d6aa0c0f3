import { Readable } from 'node:stream';
import { BlobNotFoundError, redactUrl } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';
import { readAll } from '../streams.js';

/** The basic contract: round trips, missing objects, declared capabilities, no secret in names. */
export function apiSuite(kit: ConformanceKit): void {
  const { test, expect, withStore, rejection, options } = kit;

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
        expect(read.etag, `${name} get etag`).toBe(etag);
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

  test('declares the capabilities the kit was told it has', () =>
    withStore(async (store) => {
      const declared = { conditionalPut: true, delete: true, ...options.capabilities };
      expect(store.capabilities.conditionalPut).toBe(declared.conditionalPut);
      expect(store.capabilities.delete).toBe(declared.delete);
      expect(typeof store.adapter).toBe('string');
    }));

  test('location and endpoint name the store without any secret', () =>
    withStore(async (store) => {
      const { endpoint } = store as { endpoint?: unknown };
      expect(store.location.length).toBeGreaterThan(0);
      expect(redactUrl(store.location)).toBe(store.location);
      if (endpoint !== undefined) {
        expect(typeof endpoint).toBe('string');
        expect(redactUrl(String(endpoint))).toBe(endpoint);
      }
    }));
}
