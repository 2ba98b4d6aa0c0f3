import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseInstanceConfig } from '../../src/index.js';
import { expectOnlyDefstateErrorsAsync, hostileText, trickyPiece } from './arbitraries.js';

// defstate.yaml is typed by hand: any text must parse to a storage selection or a ConfigError
// naming the file (and its line where there is one).

const FILE = '/home/ci/defstate/defstate.yaml';
const ENV = { HOME: '/home/ci', BUCKET: 'state' };

/** Plausible documents: a state_storage section with values of every kind. */
const document = fc
  .record({
    state_storage: fc.oneof(
      fc.record(
        {
          adapter: fc.oneof(
            fc.constantFrom('file', 's3', 'gcs', 'azure'),
            hostileText,
            fc.anything(),
          ),
          options: fc.oneof(fc.dictionary(hostileText, fc.anything()), fc.anything()),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
    other: fc.anything(),
  })
  .map((value) => stringify(value));

/** A document cut, spliced with YAML syntax, anchors and aliases at random places. */
const mangled = fc
  .tuple(
    document,
    fc.array(fc.tuple(fc.nat(), fc.oneof(trickyPiece, hostileText)), { maxLength: 4 }),
  )
  .map(([text, edits]) =>
    edits.reduce((current, [at, piece]) => {
      const index = at % (current.length + 1);
      return current.slice(0, index) + piece + current.slice(index);
    }, text),
  );

const aliases = fc
  .array(
    fc.constantFrom(
      '&a',
      '*a',
      '&b [*a, *a, *a, *a]',
      '*b',
      '*nope',
      '<<: *a',
      '!!binary x',
      '{',
      '[*a, *b]',
    ),
    {
      maxLength: 8,
    },
  )
  .map(
    (pieces) =>
      `a: &a {x: 1}\nstate_storage:\n  adapter: ${pieces.join(' ')}\n  options: ${pieces.reverse().join(' ')}\n`,
  );

describe('defstate.yaml, fuzzed', () => {
  test('any text is a storage selection or a ConfigError naming the file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(document, mangled, aliases, hostileText, fc.string()),
        async (text) => {
          const outcome = await expectOnlyDefstateErrorsAsync(() =>
            parseInstanceConfig(text, FILE, ENV),
          );
          if (outcome instanceof Error) {
            expect(outcome).toBeInstanceOf(ConfigError);
            expect((outcome as ConfigError).file).toBe(FILE);
          } else expect(typeof (outcome as { adapter: unknown }).adapter).toBe('string');
        },
      ),
      { numRuns: 20_000 },
    );
    // 20,000 inputs take about 25 s on two shared cores: room for a busy machine.
  }, 120_000);
});
