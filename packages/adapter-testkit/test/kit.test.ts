import type { Server } from 'node:http';
import {
  type ConformanceOptions,
  createKit,
  faultsSuite,
  runAdapterConformance,
} from '@defstate/adapter-testkit';
import type { BlobStore } from '@defstate/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CarefulHttpStore, NaiveHttpStore, startObjectServer } from './fixtures/http-stores.js';

// The kit itself: which suites a caller's options register, and that the faults suite fails a
// store that hangs or leaks raw errors while passing one built with core's adapter toolkit.

interface Recorded {
  names: string[];
  bodies: Array<{ name: string; body: () => Promise<void> }>;
}

/** A test runner that records what is registered, under its describe path. */
function recorder(): Recorded & Pick<ConformanceOptions, 'test' | 'describe'> {
  const recorded: Recorded = { names: [], bodies: [] };
  const path: string[] = [];
  return {
    ...recorded,
    names: recorded.names,
    bodies: recorded.bodies,
    describe: (name, body) => {
      path.push(name);
      body();
      path.pop();
    },
    test: (name, body) => {
      const full = [...path, name].join(' > ');
      recorded.names.push(full);
      recorded.bodies.push({ name: full, body });
    },
  };
}

const unused = async (): Promise<BlobStore> => {
  throw new Error('not opened while registering');
};

describe('registration', () => {
  test('every suite is on by default; faults only with its option', () => {
    const runner = recorder();
    runAdapterConformance({ name: 'x', ...runner, expect, openStore: unused, storeModule: '' });
    const suites = new Set(runner.names.map((name) => name.split(' > ').slice(0, 2).join(' > ')));
    expect([...suites]).toEqual([
      'x: BlobStore contract > api',
      'x: BlobStore contract > names and listing',
      'x: BlobStore contract > conditional writes',
      'x: BlobStore contract > races',
      'x: BlobStore contract > large streams',
      'x: BlobStore contract > cancellation',
      'x: versioned protocol, failure by failure > orders commits by the store, not by clocks: a runner behind or a day ahead never decides latest',
      'x: versioned protocol, failure by failure > decides "unchanged" against the latest entry at commit time, not a snapshot taken before',
      'x: versioned protocol, failure by failure > records a version before any pointer names it: a failed record fails the key and moves nothing',
      'x: versioned protocol, failure by failure > never lets a rollback and a prune interleave: latest never names a deleted version',
      'x: versioned protocol, failure by failure > takes the maintenance lease over from a holder that stopped, by compare-and-swap',
      'x: many writers > 8 processes × (10 own + 3 shared keys) × 2 rounds lose no update',
    ]);
  });

  test('options and capabilities turn suites off, and additional tests are registered', () => {
    const runner = recorder();
    runAdapterConformance({
      name: 'x',
      ...runner,
      expect,
      openStore: unused,
      storeModule: '',
      capabilities: { conditionalPut: false },
      suites: { large: false, cancellation: false },
      additionalTests: (kit) => kit.test('my own test', async () => {}),
    });
    const names = runner.names.join('\n');
    for (const absent of [
      'conditional writes',
      'races',
      'large streams',
      'cancellation',
      'versioned protocol',
    ]) {
      expect(names).not.toContain(absent);
    }
    expect(names).toContain('x: BlobStore contract > additional tests > my own test');
    expect(
      createKit({ name: 'x', ...runner, expect, openStore: unused, storeModule: '' }).enabled(
        'faults',
      ),
    ).toBe(false);
  });
});

describe('the faults suite', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    ({ server, endpoint } = await startObjectServer());
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  async function failuresOf(open: (endpoint: string, namespace: string) => Promise<BlobStore>) {
    const runner = recorder();
    faultsSuite(createKit({ name: 'x', ...runner, expect, openStore: unused, storeModule: '' }), {
      target: endpoint,
      openStore: open,
      requestTimeoutMs: 400,
      seed: 1,
    });
    const failed: string[] = [];
    for (const { name, body } of runner.bodies) {
      await body().catch(() => failed.push(name));
    }
    return { failed, all: runner.names };
  }

  test('fails a store that hangs and passes raw errors on', async () => {
    const { failed, all } = await failuresOf(
      async (at, namespace) => new NaiveHttpStore(at, namespace),
    );
    // Everything but the delays fails: raw fetch errors, stalls that never end, short bodies.
    expect(failed.length).toBeGreaterThan(4);
    expect(failed.some((name) => name.includes('stall'))).toBe(true);
    expect(all.length).toBe(7);
  }, 180_000);

  test('passes the same store built with core’s adapter toolkit', async () => {
    const { failed } = await failuresOf(
      async (at, namespace) => new CarefulHttpStore(at, namespace, 400),
    );
    expect(failed).toEqual([]);
  }, 180_000);
});
