import { createKit } from './kit.js';
import type { ConformanceOptions } from './options.js';
import { apiSuite } from './suites/api.js';
import { cancellationSuite } from './suites/cancellation.js';
import { conditionalSuite } from './suites/conditional.js';
import { failuresSuite } from './suites/failures.js';
import { faultsSuite } from './suites/faults.js';
import { largeSuite } from './suites/large.js';
import { namesSuite } from './suites/names.js';
import { racesSuite } from './suites/races.js';

export { namespaced, rejection } from './kit.js';
export { INVALID_NAMES, UNUSUAL_NAMES } from './suites/names.js';

/**
 * Registers the `BlobStore` contract: one `describe` per behaviour, each on unless the caller
 * turned it off or the store lacks the capability it needs, then the caller's own tests.
 */
export function blobStoreSuite(options: ConformanceOptions): void {
  const kit = createKit(options);
  const { describe } = options;
  describe(`${options.name}: BlobStore contract`, () => {
    if (kit.enabled('api')) describe('api', () => apiSuite(kit));
    if (kit.enabled('names')) describe('names and listing', () => namesSuite(kit));
    if (kit.enabled('conditional')) describe('conditional writes', () => conditionalSuite(kit));
    if (kit.enabled('races')) describe('races', () => racesSuite(kit));
    if (kit.enabled('large')) describe('large streams', () => largeSuite(kit));
    if (kit.enabled('failures') && (options.failures?.denied || options.failures?.missing)) {
      describe('typed failures', () => failuresSuite(kit));
    }
    if (kit.enabled('cancellation')) describe('cancellation', () => cancellationSuite(kit));
    if (kit.enabled('faults') && options.faults) {
      const faults = options.faults;
      describe('faults', () => faultsSuite(kit, faults));
    }
    if (options.additionalTests) describe('additional tests', () => options.additionalTests?.(kit));
  });
}
