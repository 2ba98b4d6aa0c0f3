import type { BlobStore } from '@defstate/core';

/**
 * The slice of a test runner the kit needs. vitest's `test`, `describe` and `expect` fit as they
 * are (so do jest's), which is why the runner is the caller's and not a dependency of the kit.
 */
export interface TestRunner {
  test: (name: string, body: () => Promise<void>, timeoutMs?: number) => void;
  describe: (name: string, body: () => void) => void;
  expect: Expect;
}

export type Expect = (actual: unknown, message?: string) => Matchers;

export interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void;
  toBeUndefined(): void;
  toBeLessThan(expected: number): void;
  toBeGreaterThan(expected: number): void;
  not: Matchers;
}

export interface ConformanceOptions extends TestRunner {
  /** Shown in test names, e.g. `s3 (moto)`. */
  name: string;
  /**
   * Opens a store whose objects all live under `namespace` (a fresh random string per test), so
   * tests never see each other's objects. Called several times with the same namespace, it must
   * open views of the same objects.
   */
  openStore: (namespace: string) => Promise<BlobStore>;
  /**
   * An ES module (absolute path or file URL) exporting the same `openStore(namespace)`, for the
   * groups that race several processes. Child processes inherit `process.env`.
   */
  storeModule: string;
  /** Stores set up to fail, for the typed-error group; each is optional. */
  failures?: {
    /** A store whose credentials are wrong or lack permission. */
    denied?: (namespace: string) => Promise<BlobStore>;
    /** A store whose bucket, container or folder does not exist. */
    missing?: (namespace: string) => Promise<BlobStore>;
  };
  /** The large round-trip: size in bytes (default 160 MiB) and allowed RSS growth (default 96 MiB). */
  large?: { size?: number; maxRssGrowth?: number };
  /** Writers racing on one object (default 8). */
  racers?: number;
  /** Processes in the protocol group (default 4). */
  processes?: number;
}
