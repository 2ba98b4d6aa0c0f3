import { Readable } from 'node:stream';
import { type FaultKind, type FaultProxy, startFaultProxy } from '@defstate/adapter-testkit';
import { AbortedError, type BlobStore, DefstateError, TransientError } from '@defstate/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { blobEndpoint, connectionString, endpoint, open, uniquePrefix } from './azurite.js';

// A flaky network between the store and Azurite: every operation settles, typed, within its
// time-out, and a failed block costs one block.

const TIMEOUT_MS = 1500;
const MiB = 1024 * 1024;
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(endpoint);
});
afterAll(() => proxy.stop());

/** A store whose requests all go through the proxy. */
function openThroughProxy(requestTimeoutMs = TIMEOUT_MS): Promise<BlobStore> {
  return open({
    prefix: uniquePrefix('faults'),
    accountUrl: blobEndpoint.replace(endpoint, proxy.endpoint),
    connectionString,
    requestTimeoutMs,
  });
}

async function outcome(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    const result = await run();
    if (result && typeof result === 'object' && 'body' in result) {
      for await (const _ of (result as { body: AsyncIterable<unknown> }).body) {
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
  ['put (one request)', (store) => store.put('small', 'x'.repeat(2000))],
  ['put (blocks)', (store) => store.put('large', Readable.from([Buffer.alloc(9 * MiB, 1)]))],
  ['list', (store) => store.list('')],
  ['delete', (store) => store.delete('present')],
];

describe('azure through a flaky network', () => {
  for (const fault of ['truncate', 'stall', 'lost-answer', 'reset'] as FaultKind[]) {
    for (const [name, run] of operations) {
      test(`${fault}: ${name} fails with TransientError within its time-out`, async () => {
        const store = await openThroughProxy();
        await store.put('present', 'p'.repeat(3000));
        proxy.inject({ fault, count: 1000 });
        const { error, ms } = await outcome(() => run(store));
        proxy.clear();
        expect(error, `${fault} ${name}`).toBeInstanceOf(TransientError);
        expect(ms).toBeLessThan(TIMEOUT_MS * 3);
      });
    }
  }

  test('the caller’s signal ends a stalled request with AbortedError', async () => {
    const store = await openThroughProxy(60_000);
    await store.put('present', 'p');
    for (const run of [
      (signal: AbortSignal) => store.head('present', { signal }),
      (signal: AbortSignal) => store.put('x', 'y', { signal }),
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

  test('a failed block is staged again on its own; the upload does not restart', async () => {
    const store = await openThroughProxy(10_000);
    const blocks: string[] = [];
    proxy.inject({
      count: 1000,
      match: (request) => {
        if (request.method === 'PUT' && request.url?.includes('comp=block&')) {
          blocks.push(new URL(request.url, 'http://x').searchParams.get('blockid') ?? '');
        }
        return false;
      },
    });
    let second: string | undefined;
    const isSecond = (request: { method?: string; url?: string }) => {
      if (request.method !== 'PUT' || !request.url?.includes('comp=block&')) return false;
      const id = new URL(request.url, 'http://x').searchParams.get('blockid') ?? '';
      second ??= Buffer.from(id, 'base64').toString().endsWith('-000001') ? id : undefined;
      return id === second;
    };
    proxy.inject({ fault: 'reset', match: isSecond });
    proxy.inject({ status: 503, match: isSecond });
    await store.put('large', Readable.from([Buffer.alloc(20 * MiB, 2)]));
    proxy.clear();
    expect((await store.head('large'))?.size).toBe(20 * MiB);
    const indexes = blocks.map((id) => Buffer.from(id, 'base64').toString().slice(-1)).sort();
    expect(indexes).toEqual(['0', '1', '1', '1', '2']);
  });

  test('every error under random faults is typed, and the store works again after', async () => {
    const store = await openThroughProxy();
    await store.put('present', 'p'.repeat(3000));
    proxy.randomFaults({ rate: 0.5, seed: 5 });
    for (let round = 0; round < 4; round++) {
      for (const [name, run] of operations.filter(([n]) => n !== 'delete')) {
        const { error } = await outcome(() => run(store));
        if (error !== undefined) expect(error, name).toBeInstanceOf(DefstateError);
      }
    }
    proxy.clear();
    expect((await store.head('present'))?.size).toBe(3000);
  });
});
