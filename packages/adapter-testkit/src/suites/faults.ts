import { Readable } from 'node:stream';
import { type BlobStore, DefstateError, TransientError } from '@defstate/core';
import { type FaultKind, type FaultProxy, startFaultProxy } from '../fault-proxy.js';
import type { ConformanceKit } from '../kit.js';
import type { FaultOptions } from '../options.js';
import { readAll } from '../streams.js';

/**
 * The store behind the kit's fault-injecting proxy. Whatever the network does — resets, lost
 * answers, truncated or stalled bodies, error statuses, delays — every operation succeeds or
 * fails with a typed error that core can act on (a transient one for every fault here, so core
 * retries it), within a bound set by the store's own time-out: no promise is left unsettled and
 * no raw SDK or socket error escapes. After the faults stop, the store works.
 */

type Operation = [name: string, run: (store: BlobStore) => Promise<unknown>];

const OPERATIONS: Operation[] = [
  ['get', async (store) => readAll((await store.get('present')).body)],
  ['head', (store) => store.head('present')],
  ['put', (store) => store.put('small', 'x'.repeat(3000))],
  [
    'put (stream of unknown size)',
    (store) => store.put('streamed', Readable.from([Buffer.alloc(2 * 1024 * 1024, 1)])),
  ],
  ['list', (store) => store.list('')],
  ['delete', (store) => store.delete('present')],
];

const FAILING_FAULTS: FaultKind[] = ['reset', 'lost-answer', 'truncate', 'status', 'stall'];

/** Runs `run`, failing if it has not settled by `boundMs`. */
async function settled(
  run: () => Promise<unknown>,
  boundMs: number,
): Promise<{ error: unknown; ms: number; hung: boolean }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), boundMs);
  });
  try {
    const result = await Promise.race([run().then(() => 'ok' as const), hung]);
    return { error: undefined, ms: Date.now() - started, hung: result === 'hung' };
  } catch (error) {
    return { error, ms: Date.now() - started, hung: false };
  } finally {
    clearTimeout(timer);
  }
}

export function faultsSuite(kit: ConformanceKit, faults: FaultOptions): void {
  const { test, expect, describe } = kit;
  // Every request may wait out the time-out once, and the store may make a few (a bucket check,
  // a credentials check) for one operation.
  const bound = faults.requestTimeoutMs * 4 + 5_000;

  async function withProxy(
    body: (proxy: FaultProxy, store: BlobStore) => Promise<void>,
  ): Promise<void> {
    const proxy = await startFaultProxy(faults.target);
    const namespace = kit.namespace();
    const store = await faults.openStore(proxy.endpoint, namespace);
    try {
      await store.put('present', 'p'.repeat(3000));
      await body(proxy, store);
    } finally {
      proxy.clear();
      if (store.capabilities.delete) {
        for (const item of (await store.list('')).items) await store.delete(item.name);
      }
      await store.close?.();
      await proxy.stop();
    }
  }

  describe('under network faults', () => {
    for (const fault of FAILING_FAULTS) {
      test(
        `${fault}: every operation fails with TransientError, within its time-out`,
        () =>
          withProxy(async (proxy, store) => {
            for (const [name, run] of OPERATIONS) {
              if (name === 'delete' && !store.capabilities.delete) continue;
              proxy.clear();
              // Every request of the operation meets the fault, so nothing can retry past it.
              proxy.inject({ fault, count: 100_000 });
              const outcome = await settled(() => run(store), bound);
              proxy.clear();
              expect(outcome.hung, `${fault}: ${name} settled within ${bound} ms`).toBe(false);
              expect(outcome.error, `${fault}: ${name}`).toBeInstanceOf(TransientError);
              await store.put('present', 'p'.repeat(3000));
            }
          }),
        bound * OPERATIONS.length * 2 + 30_000,
      );
    }

    test(
      'delay: every operation succeeds',
      () =>
        withProxy(async (proxy, store) => {
          proxy.inject({ fault: 'delay', delayMs: 150, count: 100_000 });
          for (const [name, run] of OPERATIONS) {
            if (name === 'delete' && !store.capabilities.delete) continue;
            const outcome = await settled(() => run(store), bound);
            expect(outcome.error, `delay: ${name}`).toBeUndefined();
          }
        }),
      bound * OPERATIONS.length + 30_000,
    );

    test(
      'random faults: every outcome is a success or a typed error, and the store works after',
      () =>
        withProxy(async (proxy, store) => {
          proxy.randomFaults({ rate: 0.3, seed: faults.seed });
          const errors: unknown[] = [];
          for (let round = 0; round < 5; round++) {
            // Concurrently, as core uses a store: a fault on one request must not disturb others.
            const outcomes = await Promise.all(
              OPERATIONS.filter(([name]) => name !== 'delete').map(([, run]) =>
                settled(() => run(store), bound),
              ),
            );
            for (const outcome of outcomes) {
              expect(outcome.hung, `seed ${proxy.stats.seed}: settled`).toBe(false);
              if (outcome.error !== undefined) errors.push(outcome.error);
            }
          }
          for (const error of errors) {
            expect(error, `seed ${proxy.stats.seed}`).toBeInstanceOf(DefstateError);
          }
          proxy.clear();
          await store.put('after', 'ok');
          expect((await store.head('after'))?.size).toBe(2);
          expect((await readAll((await store.get('after')).body)).toString()).toBe('ok');
        }),
      bound * 5 + 60_000,
    );
  });
}
