import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { assertStateKey, InvalidKeyError, keyToFolder, StateKeySchema } from '../../src/index.js';
import { expectOnlyDefstateErrors, hostileText, utf16Unit } from './arbitraries.js';

// State keys come from user code: any value at all reaches assertStateKey and keyToFolder.

const anyKey = fc.oneof(
  hostileText,
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: utf16Unit, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 150, maxLength: 600 }),
  fc.anything(),
);

// A folder name that is safe on every file system this runs on, and stays inside its parent.
function assertSafeFolder(folder: string): void {
  expect(folder.length).toBeGreaterThan(0);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked.
  expect(folder).not.toMatch(/[/\\\u0000-\u001f]/);
  expect(folder === '.' || folder === '..').toBe(false);
  expect(Buffer.byteLength(folder)).toBeLessThan(256);
}

describe('state keys, fuzzed', () => {
  test('any value is a valid key, folded to a safe folder, or an InvalidKeyError', () => {
    fc.assert(
      fc.property(anyKey, (key) => {
        const valid = StateKeySchema.safeParse(key).success;
        const checked = expectOnlyDefstateErrors(() => assertStateKey(key));
        if (!valid) {
          expect(checked).toBeInstanceOf(InvalidKeyError);
          return;
        }
        expect(checked).toBe(key);
        assertSafeFolder(expectOnlyDefstateErrors(() => keyToFolder(key as string)) as string);
      }),
      { numRuns: 25_000 },
    );
  });

  test('two different keys never share a folder, even where case folds', () => {
    const validKey = fc
      .oneof(hostileText, fc.string({ unit: 'grapheme', maxLength: 260 }))
      .filter((key) => StateKeySchema.safeParse(key).success);
    fc.assert(
      fc.property(validKey, validKey, (first, second) => {
        fc.pre(first !== second);
        expect(keyToFolder(first).toLowerCase()).not.toBe(keyToFolder(second).toLowerCase());
      }),
      { numRuns: 15_000 },
    );
  });
});
