import { blobStoreSuite } from './blob-store-suite.js';
import { createKit } from './kit.js';
import type { ConformanceOptions } from './options.js';
import type { ProtocolOptions } from './protocol/options.js';
import { protocolSuite } from './protocol-suite.js';

/**
 * Registers the whole conformance suite on the caller's test runner: the `BlobStore` contract,
 * suite by suite, then core's versioned protocol raced across processes. A third-party adapter's
 * test file is:
 *
 *   import { describe, expect, test } from 'vitest';
 *   import { runAdapterConformance } from '@defstate/adapter-testkit';
 *   runAdapterConformance({ name: 'my-store', test, describe, expect,
 *     openStore: (namespace) => createMyStore({ prefix: namespace }),
 *     storeModule: new URL('./open-store.mjs', import.meta.url).href });
 */
export function runAdapterConformance(options: ConformanceOptions & ProtocolOptions): void {
  blobStoreSuite(options);
  if (createKit(options).enabled('protocol')) protocolSuite(options);
}

export { blobStoreSuite, INVALID_NAMES, UNUSUAL_NAMES } from './blob-store-suite.js';
export type {
  FaultKind,
  FaultProxy,
  FaultProxyStats,
  FaultRule,
  RandomFaults,
} from './fault-proxy.js';
export { FAULT_KINDS, startFaultProxy } from './fault-proxy.js';
export type { ConformanceKit } from './kit.js';
export { createKit } from './kit.js';
export type {
  ConformanceOptions,
  Expect,
  FaultOptions,
  Matchers,
  SuiteName,
  TestRunner,
} from './options.js';
export { SUITE_NAMES } from './options.js';
export type { ProtocolOptions } from './protocol/options.js';
export { overriding, protocolScenarios } from './protocol/scenarios.js';
export { tortureSuite } from './protocol/torture.js';
export { protocolSuite } from './protocol-suite.js';
export { apiSuite } from './suites/api.js';
export { cancellationSuite } from './suites/cancellation.js';
export { conditionalSuite } from './suites/conditional.js';
export { failuresSuite } from './suites/failures.js';
export { faultsSuite } from './suites/faults.js';
export { largeSuite } from './suites/large.js';
export { namesSuite } from './suites/names.js';
export { racesSuite } from './suites/races.js';
