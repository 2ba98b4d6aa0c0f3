import type { BlobStore, BlobStoreCapabilities } from '@defstate/core';
import type { ConformanceKit } from './kit.js';

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

/**
 * The kit's suites, one per behaviour. Each is on unless turned off in `suites` (or, for `faults`,
 * unless the `faults` option is given); `conditional` and `races` also need the declared
 * `conditionalPut` capability.
 */
export type SuiteName =
  | 'api'
  | 'names'
  | 'conditional'
  | 'races'
  | 'large'
  | 'failures'
  | 'cancellation'
  | 'faults'
  | 'protocol';

export const SUITE_NAMES: readonly SuiteName[] = [
  'api',
  'names',
  'conditional',
  'races',
  'large',
  'failures',
  'cancellation',
  'faults',
  'protocol',
];

export interface FaultOptions {
  /** The real endpoint (emulator or server) the kit's fault proxy forwards to. */
  target: string;
  /**
   * Opens a store like `openStore(namespace)`, but sending every request to `endpoint` (the
   * proxy) instead of `target`. Its time-outs should be short (a second or two), so that a
   * stalled request fails quickly; pass the same value as `requestTimeoutMs`.
   */
  openStore: (endpoint: string, namespace: string) => Promise<BlobStore>;
  /** The request time-out the stores from `openStore` use, in ms: faults must settle near it. */
  requestTimeoutMs: number;
  /** Seed of the random-fault rounds (default: random, printed in failures). */
  seed?: number;
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
   * groups that race several processes. Child processes inherit `process.env`, and open their own
   * store: a store that lives only in this process's memory cannot pass the protocol suite.
   */
  storeModule: string;
  /**
   * What the store offers (default: conditional puts and delete). The `api` suite checks the
   * store declares the same; suites that need a capability run only when it is declared.
   */
  capabilities?: Partial<Pick<BlobStoreCapabilities, 'conditionalPut' | 'delete'>>;
  /** Turns suites off (or on): `{ large: false }`. All are on by default. */
  suites?: Partial<Record<SuiteName, boolean>>;
  /** Stores set up to fail, for the `failures` suite; each is optional. */
  failures?: {
    /** A store whose credentials are wrong or lack permission. */
    denied?: (namespace: string) => Promise<BlobStore>;
    /** A store whose bucket, container or folder does not exist. */
    missing?: (namespace: string) => Promise<BlobStore>;
  };
  /** Runs the `faults` suite through the kit's fault-injecting proxy (HTTP stores). */
  faults?: FaultOptions;
  /** The large round-trip: size in bytes (default 160 MiB) and allowed RSS growth (default 96 MiB). */
  large?: { size?: number; maxRssGrowth?: number };
  /** Writers racing on one object (default 8). */
  racers?: number;
  /** Processes in the protocol group (default 4). */
  processes?: number;
  /** The adapter's own tests, registered with the kit's helpers beside the kit's suites. */
  additionalTests?: (kit: ConformanceKit) => void;
}
