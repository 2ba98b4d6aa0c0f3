import { hashStream } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';
import { generatedStream, peakRssGrowth } from '../streams.js';

const MiB = 1024 * 1024;

/** A large object streamed both ways with memory flat: state can be hundreds of MB. */
export function largeSuite(kit: ConformanceKit): void {
  const { test, expect, withStore, options } = kit;
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
}
