import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, validateProjectConfig } from '../../src/index.js';
import { expectOnlyDefstateErrors, hostileText } from './arbitraries.js';

// A project config is whatever the user's defstate.config.* exports: any shape at all.

const refresh = async () => {};
const component = fc.record(
  {
    key: fc.oneof(hostileText, fc.constantFrom('catalog', 'flags/prod', 'a'), fc.anything()),
    management: fc.oneof(fc.constantFrom('local', 'versioned', 'LOCAL', ''), fc.anything()),
    refresh: fc.oneof(fc.constant(refresh), fc.anything()),
    description: fc.oneof(hostileText, fc.anything()),
    timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.anything()),
  },
  { requiredKeys: [] },
);

const config = fc.oneof(
  fc.anything(),
  fc.record({ components: fc.oneof(fc.array(component, { maxLength: 6 }), fc.anything()) }),
  fc.record({
    components: fc.array(fc.oneof(component, fc.anything()), { maxLength: 6 }),
    other: fc.anything(),
  }),
  // Duplicate keys, which must be named, not crash.
  fc.array(component, { minLength: 1, maxLength: 4 }).map((components) => ({
    components: [...components, ...components],
  })),
);

describe('project configs, fuzzed', () => {
  test('any export is a list of components or a ConfigError naming the file', () => {
    fc.assert(
      fc.property(config, (value) => {
        const outcome = expectOnlyDefstateErrors(() =>
          validateProjectConfig(value, '/project/defstate.config.ts'),
        );
        if (outcome instanceof Error) {
          expect(outcome).toBeInstanceOf(ConfigError);
          expect((outcome as ConfigError).file).toBe('/project/defstate.config.ts');
        } else expect(Array.isArray(outcome)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });
});
