import { Readable } from 'node:stream';
import { AbortedError } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';
import { generatedStream } from '../streams.js';

const MiB = 1024 * 1024;

/** The caller's AbortSignal ends every operation with AbortedError, and writes nothing. */
export function cancellationSuite(kit: ConformanceKit): void {
  const { test, expect, withStore, rejection } = kit;

  test('an operation whose signal is already aborted rejects with AbortedError', () =>
    withStore(async (store) => {
      await store.put('present', 'x');
      const signal = AbortSignal.abort();
      const attempts: Array<[string, () => Promise<unknown>]> = [
        ['get', () => store.get('present', { signal })],
        ['head', () => store.head('present', { signal })],
        ['put', () => store.put('written', 'y', { signal })],
        [
          'put (stream)',
          () => store.put('streamed', Readable.from([Buffer.from('y')]), { signal }),
        ],
        ['list', () => store.list('', { signal })],
      ];
      if (store.capabilities.delete)
        attempts.push(['delete', () => store.delete('present', { signal })]);
      for (const [name, attempt] of attempts) {
        expect(await rejection(attempt()), name).toBeInstanceOf(AbortedError);
      }
      expect(await store.head('written')).toBeUndefined();
      expect(await store.head('streamed')).toBeUndefined();
    }));

  test('cancelling an upload part-way writes nothing, and the store stays usable', () =>
    withStore(async (store) => {
      const controller = new AbortController();
      const source = generatedStream(24 * MiB, 7);
      let sent = 0;
      source.stream.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        if (sent >= 4 * MiB) controller.abort();
      });
      const error = await rejection(
        store.put('cancelled', source.stream, { signal: controller.signal }),
      );
      expect(error).toBeInstanceOf(AbortedError);
      expect(await store.head('cancelled')).toBeUndefined();
      await store.put('after', 'ok');
      expect((await store.head('after'))?.size).toBe(2);
    }));

  test('cancelling a download part-way fails its body with AbortedError', () =>
    withStore(async (store) => {
      await store.put('big', generatedStream(8 * MiB, 3).stream, { size: 8 * MiB });
      const controller = new AbortController();
      const { body } = await store.get('big', { signal: controller.signal });
      const error = await rejection(
        (async () => {
          let read = 0;
          for await (const chunk of body) {
            read += (chunk as Buffer).length;
            if (read >= MiB) controller.abort();
          }
        })(),
      );
      expect(error).toBeInstanceOf(AbortedError);
    }));
}
