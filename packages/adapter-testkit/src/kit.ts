import { randomBytes } from 'node:crypto';
import { type BlobStore, listAll, STORE_RETRY_POLICY, withRetry } from '@defstate/core';
import type { ConformanceOptions, SuiteName } from './options.js';
import { readAll } from './streams.js';

/**
 * What every suite (and a caller's additional tests) works with: the caller's test runner, a
 * fresh store per test in its own namespace, and small helpers.
 */
export interface ConformanceKit {
  readonly options: ConformanceOptions;
  readonly test: ConformanceOptions['test'];
  readonly describe: ConformanceOptions['describe'];
  readonly expect: ConformanceOptions['expect'];
  /** Runs `body` with a store in a fresh namespace; every object in it is deleted afterwards. */
  withStore<T>(body: (store: BlobStore, namespace: string) => Promise<T>): Promise<T>;
  /** A new random namespace. */
  namespace(): string;
  /** What `promise` rejected with, or `undefined` when it resolved. */
  rejection(promise: Promise<unknown>): Promise<unknown>;
  /** An object's content as text. */
  text(store: BlobStore, name: string): Promise<string>;
  /** Whether a suite is on, by the caller's options and the declared capabilities. */
  enabled(suite: SuiteName): boolean;
}

export function newNamespace(): string {
  return `conformance-${randomBytes(6).toString('hex')}`;
}

/** A fresh namespace per test, and every object in it deleted afterwards. */
export function namespaced(options: Pick<ConformanceOptions, 'openStore'>) {
  return async <T>(body: (store: BlobStore, namespace: string) => Promise<T>): Promise<T> => {
    const namespace = newNamespace();
    const store = await options.openStore(namespace);
    try {
      return await body(store, namespace);
    } finally {
      if (store.capabilities.delete) {
        // Retried as the engine retries: a store that throttles (GCS allows about one mutation
        // per second per object) may refuse to delete what a test has just written.
        const retry = { policy: STORE_RETRY_POLICY };
        for await (const item of listAll(store, '')) {
          await withRetry(() => store.delete(item.name), retry);
        }
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

export function createKit(options: ConformanceOptions): ConformanceKit {
  const capabilities = { conditionalPut: true, delete: true, ...options.capabilities };
  const needs: Partial<Record<SuiteName, boolean>> = {
    conditional: capabilities.conditionalPut,
    races: capabilities.conditionalPut,
    faults: options.faults !== undefined,
    protocol: capabilities.conditionalPut,
  };
  return {
    options,
    test: options.test,
    describe: options.describe,
    expect: options.expect,
    withStore: namespaced(options),
    namespace: newNamespace,
    rejection,
    text: async (store, name) => (await readAll((await store.get(name)).body)).toString('utf8'),
    enabled: (suite) => options.suites?.[suite] !== false && needs[suite] !== false,
  };
}
