import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessDeniedError,
  type BlobStore,
  type Component,
  ConfigError,
  LEASE_OBJECT,
  LeaseError,
  listAll,
  pruneState,
  readHistory,
  readPointer,
  refreshState,
  rollbackState,
  StateNotFoundError,
  stateObjectName,
  withMaintenanceLease,
} from '@defstate/core';
import { namespaced, rejection } from '../blob-store-suite.js';
import type { ConformanceOptions } from '../options.js';
import type { ProtocolOptions } from './options.js';

/**
 * Core's versioned protocol against the adapter, one failure mode at a time: writers whose clocks
 * disagree, a snapshot that went stale during a slow refresh, a record that could not be written,
 * maintenance racing a rollback, a lease whose holder died, and a store that drops its
 * conditions. Each runs the real refresh engine in this process on the caller's store.
 */
/** Whether the store says when its objects were written (prune ages versions by it). */
async function stampsTimes(store: BlobStore): Promise<boolean> {
  for await (const item of listAll(store, 'states/')) return item.lastModified !== undefined;
  return false;
}

/** The store with some methods replaced; the others are the store's own, bound to it. */
export function overriding(store: BlobStore, overrides: Partial<BlobStore>): BlobStore {
  return {
    adapter: store.adapter,
    location: store.location,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    capabilities: store.capabilities,
    get: (name, operation) => store.get(name, operation),
    head: (name, operation) => store.head(name, operation),
    put: (name, body, put) => store.put(name, body, put),
    list: (prefix, list) => store.list(prefix, list),
    delete: (name, operation) => store.delete(name, operation),
    ...overrides,
  };
}

export function protocolScenarios(options: ConformanceOptions & ProtocolOptions): void {
  const { test, describe, expect } = options;
  const withStore = namespaced(options);

  /** A throwaway project folder, and a refresh of the given components into `store`. */
  const refresher = async (store: BlobStore) => {
    const root = await mkdtemp(join(tmpdir(), 'defstate-testkit-project-'));
    return {
      root,
      refresh: (components: Component[], extra: { now?: () => Date; pin?: boolean } = {}) =>
        refreshState({
          project: { root, configFile: join(root, 'defstate.config.ts'), components },
          openStore: async () => store,
          commitDelayMs: 0,
          ...extra,
        }),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  };
  const writes = (key: string, content: () => string | Promise<string>): Component => ({
    key,
    management: 'versioned',
    refresh: async ({ statePath }) => writeFile(statePath, await content()),
  });

  describe(`${options.name}: versioned protocol, failure by failure`, () => {
    test('orders commits by the store, not by clocks: a runner behind or a day ahead never decides latest', () =>
      withStore(async (store) => {
        const { refresh, cleanup } = await refresher(store);
        try {
          const behind = () => new Date(Date.now() - 5_000);
          const ahead = () => new Date(Date.now() + 86_400_000);
          const first = await refresh([writes('k', () => 'from the fast runner')], { now: ahead });
          const second = await refresh([writes('k', () => 'from the slow runner')], {
            now: behind,
            pin: true,
          });
          expect(first.results[0]?.status).toBe('refreshed');
          expect(second.results[0]?.status).toBe('refreshed');
          const latest = (await readPointer(store, { keys: ['k'] })).entries.get('k');
          expect(latest?.version).toBe(second.results[0]?.info?.version);
          expect(latest?.generation).toBe(2);
          // What was pinned is what was committed.
          expect(second.pins?.keys.k?.version).toBe(latest?.version);
          // The fast runner again: it does not win because of its clock, nor lose because of it.
          const third = await refresh([writes('k', () => 'from the fast runner')], { now: ahead });
          const now = (await readPointer(store, { keys: ['k'] })).entries.get('k');
          expect(now?.version).toBe(third.results[0]?.info?.version);
          expect(now?.generation).toBe(3);
        } finally {
          await cleanup();
        }
      }));

    test('decides "unchanged" against the latest entry at commit time, not a snapshot taken before', () =>
      withStore(async (store) => {
        const a = await refresher(store);
        const b = await refresher(store);
        try {
          await a.refresh([writes('k', () => 'X')]);
          let slowRunStarted!: () => void;
          const started = new Promise<void>((resolve) => {
            slowRunStarted = resolve;
          });
          let otherCommitted!: () => void;
          const committed = new Promise<void>((resolve) => {
            otherCommitted = resolve;
          });
          // A reads the pointer (X is latest), then fetches slowly and gets X again; meanwhile B
          // commits Y. A's fetch is the later one, so X must become latest again.
          const slow = a.refresh([
            writes('k', async () => {
              slowRunStarted();
              await committed;
              return 'X';
            }),
          ]);
          await started;
          const other = await b.refresh([writes('k', () => 'Y')]);
          expect(other.results[0]?.status).toBe('refreshed');
          otherCommitted();
          const report = await slow;
          expect(report.results[0]?.status).toBe('refreshed');
          const latest = (await readPointer(store, { keys: ['k'] })).entries.get('k');
          expect(latest?.version).toBe(report.results[0]?.info?.version);
          expect(latest?.generation).toBe(3);
          // And when nothing moved, the same content is unchanged, with nothing written.
          const again = await a.refresh([writes('k', () => 'X')]);
          expect(again.results[0]?.status).toBe('unchanged');
          expect(again.pointerWrites).toBe(0);
        } finally {
          await a.cleanup();
          await b.cleanup();
        }
      }));

    test('records a version before any pointer names it: a failed record fails the key and moves nothing', () =>
      withStore(async (store) => {
        const { refresh, cleanup } = await refresher(store);
        try {
          const v1 = await refresh([writes('k', () => 'one')]);
          const failing = overriding(store, {
            put: (name, body, put) =>
              name.startsWith('published/')
                ? Promise.reject(new AccessDeniedError('records refused for this test'))
                : store.put(name, body, put),
          });
          const { refresh: refreshFailing, cleanup: cleanupFailing } = await refresher(failing);
          try {
            const broken = await refreshFailing([writes('k', () => 'two')], { pin: true });
            expect(broken.results[0]?.status).toBe('failed');
            expect(broken.pins).toBeUndefined();
          } finally {
            await cleanupFailing();
          }
          const latest = (await readPointer(store, { keys: ['k'] })).entries.get('k');
          expect(latest?.version).toBe(v1.results[0]?.info?.version);
          // A version that was ever latest, or recorded, is never taken for an orphan, however
          // much later prune runs; the unrecorded upload is the only orphan.
          const v2 = await refresh([writes('k', () => 'three')]);
          const report = await pruneState(store, {
            keys: ['k'],
            keep: 10,
            now: new Date(Date.now() + 2 * 86_400_000),
          });
          // A store that stamps no times on its objects gives prune no age: it deletes nothing.
          const aged = await stampsTimes(store);
          expect(report.deleted.map(({ reason }) => reason)).toEqual(aged ? ['orphan'] : []);
          const left = (await readHistory(store, 'k')).entries.map((entry) => entry.version);
          for (const kept of [v1.results[0]?.info?.version, v2.results[0]?.info?.version]) {
            expect(left.includes(kept as string), `${kept} kept`).toBe(true);
          }
          expect(left.length).toBe(aged ? 2 : 3);
        } finally {
          await cleanup();
        }
      }));

    test('never lets a rollback and a prune interleave: latest never names a deleted version', () =>
      withStore(async (store) => {
        const { refresh, cleanup } = await refresher(store);
        try {
          const versions: string[] = [];
          for (const content of ['one', 'two', 'three']) {
            const report = await refresh([writes('k', () => content)]);
            versions.push(report.results[0]?.info?.version as string);
          }
          const [v1] = versions as [string];
          let rollback: Promise<unknown> | undefined;
          const pausing = overriding(store, {
            delete: async (name, operation) => {
              if (name === stateObjectName('k', v1) && !rollback) {
                rollback = rejection(rollbackState(store, 'k', v1));
                await new Promise((resolve) => setTimeout(resolve, 500));
              }
              return store.delete(name, operation);
            },
          });
          await pruneState(pausing, {
            keys: ['k'],
            keep: 1,
            now: new Date(Date.now() + 7_200_000),
          });
          // A store that stamps no times gives prune no age: nothing is deleted, and the rollback
          // (which starts only when prune deletes) never runs.
          if (await stampsTimes(store)) expect(await rollback).toBeInstanceOf(StateNotFoundError);
          else expect(rollback).toBeUndefined();
          const latest = (await readPointer(store, { keys: ['k'] })).entries.get('k');
          expect(
            await store.head(stateObjectName('k', latest?.version as string)),
          ).not.toBeUndefined();
        } finally {
          await cleanup();
        }
      }));

    test('takes the maintenance lease over from a holder that stopped, by compare-and-swap', () =>
      withStore(async (store) => {
        // A holder on another machine that died: its lease document never changes again.
        const dead = {
          schemaVersion: 1,
          owner: 'gone',
          operation: 'prune',
          holder: { host: 'another-machine', pid: 1 },
          ttlMs: 400,
          acquiredAt: new Date().toISOString(),
          heartbeatAt: new Date().toISOString(),
          released: false,
        };
        await store.put(LEASE_OBJECT, `${JSON.stringify(dead)}\n`);
        const taken = await withMaintenanceLease(store, { operation: 'test' }, async () => 'held');
        expect(taken).toBe('held');
        // Two contenders for a released lease: exactly one holds it at a time.
        let inside = 0;
        let most = 0;
        await Promise.all(
          [0, 1, 2].map(() =>
            withMaintenanceLease(store, { operation: 'test' }, async () => {
              inside++;
              most = Math.max(most, inside);
              await new Promise((resolve) => setTimeout(resolve, 100));
              inside--;
            }),
          ),
        );
        expect(most).toBe(1);
        // A live holder is not taken over: the waiter gives up, naming it.
        const error = await withMaintenanceLease(store, { operation: 'prune', ttlMs: 60_000 }, () =>
          rejection(
            withMaintenanceLease(store, { operation: 'rollback', waitMs: 300 }, async () => 1),
          ),
        );
        expect(error).toBeInstanceOf(LeaseError);
        const message = (error as Error).message;
        expect(/held by prune \(process \d+ on /.test(message), message).toBe(true);
      }));

    const { ignoresConditions } = options.failures ?? {};
    if (ignoresConditions) {
      test('refuses to write to a store that drops its conditional headers', async () => {
        const store = await ignoresConditions(`conformance-unconditional-${Date.now()}`);
        const { refresh, cleanup } = await refresher(store);
        try {
          const report = await refresh([writes('k', () => 'x')]).catch((error: unknown) => error);
          const error =
            report instanceof Error
              ? report
              : (report as { results: { error?: Error }[] }).results[0]?.error;
          expect(error).toBeInstanceOf(ConfigError);
          const message = error?.message ?? '';
          expect(/ignores (create-only writes|conditional replaces)/.test(message), message).toBe(
            true,
          );
          expect(message.includes(store.endpoint ?? store.location), message).toBe(true);
          const names: string[] = [];
          for await (const item of listAll(store, 'pointer/')) names.push(item.name);
          expect(names).toEqual([]);
        } finally {
          await cleanup();
          await store.close?.();
        }
      });
    }
  });
}
