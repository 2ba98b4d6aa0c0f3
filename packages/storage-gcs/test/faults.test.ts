import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type FaultKind, type FaultProxy, startFaultProxy } from '@defstate/adapter-testkit';
import { AbortedError, type BlobStore, DefstateError, TransientError } from '@defstate/core';
import { createGcsStore, type GcsStoreOptionsInput } from '@defstate/storage-gcs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';

// A flaky network between the store and fake-gcs-server: every operation must settle, typed,
// within its time-outs, whatever part of the exchange is lost.

const endpoint = inject('gcsEndpoint');
const bucket = inject('gcsBucket');
const TIMEOUT_MS = 1500;
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(endpoint);
});
afterAll(() => proxy.stop());

async function open(options: Partial<GcsStoreOptionsInput> = {}): Promise<BlobStore> {
  return createGcsStore({
    bucket,
    prefix: `faults/${randomBytes(6).toString('hex')}`,
    apiEndpoint: proxy.endpoint,
    projectId: 'test-project',
    requestTimeoutMs: TIMEOUT_MS,
    ...options,
  });
}

/** Runs an operation to its end (a body read whole) and returns what it threw. */
async function outcome(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    const result = await run();
    if (result && typeof result === 'object' && 'body' in result) {
      for await (const _ of (result as { body: Readable }).body) {
        /* drain */
      }
    }
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

const operations: Array<[string, (store: BlobStore) => Promise<unknown>]> = [
  ['get', (store) => store.get('present')],
  ['head', (store) => store.head('present')],
  ['put (simple upload)', (store) => store.put('small', 'x'.repeat(2000))],
  [
    'put (resumable upload)',
    (store) => store.put('large', Readable.from([Buffer.alloc(64 * 1024, 1)])),
  ],
  ['list', (store) => store.list('')],
  ['delete', (store) => store.delete('present')],
];

describe('gcs through a flaky network', () => {
  for (const fault of ['truncate', 'stall', 'lost-answer', 'reset'] as FaultKind[]) {
    for (const [name, run] of operations) {
      test(`${fault}: ${name} fails with TransientError within its time-out`, async () => {
        const store = await open();
        await store.put('present', 'p'.repeat(3000));
        // Every request of the operation meets the fault, so no retry inside the SDK can hide it.
        proxy.inject({ fault, count: 1000 });
        const { error, ms } = await outcome(() => run(store));
        proxy.clear();
        expect(error, `${fault} ${name}`).toBeInstanceOf(TransientError);
        expect(ms).toBeLessThan(TIMEOUT_MS * 3);
      });
    }
  }

  test('head, list and delete honour the caller’s signal while the answer stalls', async () => {
    const store = await open({ requestTimeoutMs: 60_000 });
    await store.put('present', 'p');
    for (const run of [
      (signal: AbortSignal) => store.head('present', { signal }),
      (signal: AbortSignal) => store.list('', { signal }),
      (signal: AbortSignal) => store.delete('present', { signal }),
    ]) {
      proxy.inject({ fault: 'stall', count: 1000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const { error, ms } = await outcome(() => run(controller.signal));
      proxy.clear();
      expect(error).toBeInstanceOf(AbortedError);
      expect(ms).toBeLessThan(5000);
    }
  });

  test('every error under random faults is typed, and the store works again after', async () => {
    const store = await open();
    await store.put('present', 'p'.repeat(3000));
    proxy.randomFaults({
      rate: 0.5,
      seed: 7,
      kinds: ['truncate', 'lost-answer', 'reset', 'status', 'delay'],
    });
    for (let round = 0; round < 6; round++) {
      for (const [name, run] of operations.filter(([n]) => n !== 'delete')) {
        const { error } = await outcome(() => run(store));
        if (error !== undefined) expect(error, name).toBeInstanceOf(DefstateError);
      }
    }
    proxy.clear();
    expect((await store.head('present'))?.size).toBe(3000);
  });
});
