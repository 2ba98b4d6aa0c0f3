import { blobStoreSuite } from './blob-store-suite.js';
import type { ConformanceOptions } from './options.js';
import { protocolSuite } from './protocol-suite.js';

/**
 * Registers the whole conformance suite on the caller's test runner: the `BlobStore` contract,
 * then core's versioned protocol raced across processes. A third-party adapter's test file is:
 *
 *   import { describe, expect, test } from 'vitest';
 *   import { runAdapterConformance } from '@defstate/adapter-testkit';
 *   runAdapterConformance({ name: 'my-store', test, describe, expect,
 *     openStore: (namespace) => createMyStore({ prefix: namespace }),
 *     storeModule: new URL('./open-store.mjs', import.meta.url).href });
 */
export function runAdapterConformance(options: ConformanceOptions): void {
  blobStoreSuite(options);
  protocolSuite(options);
}

export { blobStoreSuite, UNUSUAL_NAMES } from './blob-store-suite.js';
export type {
  FaultKind,
  FaultProxy,
  FaultProxyStats,
  FaultRule,
  RandomFaults,
} from './fault-proxy.js';
export { FAULT_KINDS, startFaultProxy } from './fault-proxy.js';
export type { ConformanceOptions, Expect, Matchers, TestRunner } from './options.js';
export { protocolSuite } from './protocol-suite.js';
