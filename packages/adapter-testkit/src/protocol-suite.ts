import type { ConformanceOptions } from './options.js';
import type { ProtocolOptions } from './protocol/options.js';
import { protocolScenarios } from './protocol/scenarios.js';
import { tortureSuite } from './protocol/torture.js';

/**
 * Registers core's versioned protocol on the adapter: each failure mode on its own, then many
 * writers in real processes at once. The protocol is core's, so an adapter passes these when its
 * primitives keep their promises (atomic conditional puts, exact listings, typed errors).
 */
export function protocolSuite(options: ConformanceOptions & ProtocolOptions): void {
  protocolScenarios(options);
  tortureSuite(options);
}
