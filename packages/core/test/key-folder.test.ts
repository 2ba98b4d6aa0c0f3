import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeName,
  keyToFolder,
  MAX_KEY_LENGTH,
  StateKeySchema,
  unescapeName,
} from '../src/index.js';

const NUM_RUNS = 2000;

/** Pieces that stress an encoding: separators, dot names, device names, case, escape characters. */
const tricky = fc.constantFrom(
  '.',
  '..',
  '/',
  '\\',
  'CON',
  'con',
  'nul.txt',
  'NUL',
  'com1',
  'LPT9.log',
  'aux',
  'A',
  'a',
  'Z',
  '~',
  '~2e',
  '~~',
  '^',
  '^a',
  '%2F',
  ' ',
  ':',
  '*',
  '?',
  '"',
  '<>|',
  'é',
  'É',
  'ß',
  'İ',
  'ﬀ',
  '🚀',
  '\u200d',
  '\ufeff',
  '\ufffd',
  'x'.repeat(100),
);

const validKey = (key: string) => StateKeySchema.safeParse(key).success;

/** Raw UTF-16 code units, lone surrogates included: what a JavaScript string can hold. */
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

/** Short keys over characters an encoding might confuse, so that collisions are likely to be tried. */
const confusableKey = fc.string({
  unit: fc.constantFrom(
    'a',
    'A',
    '.',
    '~',
    '^',
    '/',
    '2e',
    '~2e',
    '\ud800',
    '\udc00',
    '\ufffd',
    'é',
  ),
  minLength: 1,
  maxLength: 6,
});

/** Any valid key: arbitrary unicode, tricky pieces glued together, and very long ones. */
const keyArbitrary = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }),
    fc.array(tricky, { minLength: 1, maxLength: 8 }).map((pieces) => pieces.join('')),
    fc
      .tuple(fc.array(tricky, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '.', '..', ' '))
      .map(([pieces, end]) => pieces.join('') + end),
    fc
      .tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.integer({ min: 150, max: 512 }))
      .map(([seed, length]) => (seed + 'Ab~.'.repeat(128)).slice(0, length)),
    fc.string({ unit: utf16Unit, minLength: 1, maxLength: 20 }),
    confusableKey,
    fc.string({ unit: 'grapheme', minLength: 300, maxLength: 400 }),
  )
  .map((key) => key.slice(0, MAX_KEY_LENGTH))
  .filter(validKey);

/** A key that differs from `key` by one small edit: the pairs an encoding most easily confuses. */
function nearMiss(key: string) {
  const at = (index: number) => index % key.length;
  return fc.oneof(
    fc.constant(key.toUpperCase()),
    fc.constant(key.toLowerCase()),
    fc.constantFrom(`${key}.`, `.${key}`, `${key} `, `${key}/`, key.slice(0, -1)),
    fc
      .tuple(fc.nat(), fc.oneof(tricky, utf16Unit))
      .map(([index, piece]) => key.slice(0, at(index)) + piece + key.slice(at(index) + 1)),
    fc
      .nat()
      .map(
        (index) =>
          key.slice(0, at(index)) + escapeName(key[at(index)] ?? '') + key.slice(at(index) + 1),
      ),
  );
}

const keyPair = keyArbitrary.chain((a) =>
  fc.tuple(fc.constant(a), fc.oneof(keyArbitrary, nearMiss(a).filter(validKey))),
);

describe('keyToFolder', () => {
  it('is injective, even on a case-insensitive file system', () => {
    fc.assert(
      fc.property(keyPair, ([a, b]) => {
        fc.pre(a !== b);
        expect(keyToFolder(a).toLowerCase()).not.toBe(keyToFolder(b).toLowerCase());
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is injective across large batches of similar keys', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArbitrary, { minLength: 50, maxLength: 200 }), (keys) => {
        const folders = new Set(keys.map((key) => keyToFolder(key).toLowerCase()));
        expect(folders.size).toBe(keys.length);
      }),
      { numRuns: 100 },
    );
  });

  it('never escapes its parent and stays a portable file name', () => {
    const root = resolve('/srv/defstate/root');
    fc.assert(
      fc.property(keyArbitrary, (key) => {
        const folder = keyToFolder(key);
        expect(folder).not.toMatch(/[/\\\0]/);
        expect(folder).not.toBe('.');
        expect(folder).not.toBe('..');
        expect(folder.startsWith('.')).toBe(false);
        expect(folder.endsWith('.')).toBe(false);
        expect(folder).toMatch(/^[a-z0-9_.~^-]+$/);
        expect(folder).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/);
        expect(Buffer.byteLength(folder)).toBeLessThanOrEqual(255);
        const path = resolve(root, folder);
        expect(path.startsWith(root + sep)).toBe(true);
        expect(resolve(path, '..')).toBe(root);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('leaves ordinary keys readable', () => {
    // Windows device names (con, nul, com1, …) are the one exception, checked below.
    const deviceName = /^(con|prn|aux|nul|com\d|lpt\d)$/;
    fc.assert(
      fc.property(
        // `__proto__`, which fast-check tries on purpose, is no key at all (model.test.ts).
        fc
          .stringMatching(/^[a-z0-9_-]{1,200}$/)
          .filter((key) => !deviceName.test(key) && key !== '__proto__'),
        (key) => {
          expect(keyToFolder(key)).toBe(key);
        },
      ),
      { numRuns: NUM_RUNS },
    );
    for (const device of ['con', 'prn', 'aux', 'nul', 'com1', 'lpt9']) {
      expect(keyToFolder(device)).not.toBe(device);
    }
  });

  it.each([
    ['MyKey', '^my^key'],
    ['a/b', 'a~2fb'],
    ['.', '~2e'],
    ['..', '~2e~2e'],
    ['.hidden', '~2ehidden'],
    ['trailing.', 'trailing~2e'],
    ['con', '~63on'],
    ['nul.txt', '~6eul.txt'],
    ['CON', '^c^o^n'],
    ['~', '~7e'],
    ['é', '~c3~a9'],
  ])('maps %j to %j', (key, folder) => {
    expect(keyToFolder(key)).toBe(folder);
  });

  it('shortens long keys and keeps them apart', () => {
    const a = keyToFolder(`${'x'.repeat(300)}a`);
    const b = keyToFolder(`${'x'.repeat(300)}b`);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^x{150}~~[0-9a-f]{32}$/);
  });

  it('rejects invalid keys instead of encoding them', () => {
    expect(() => keyToFolder('')).toThrow(/must not be empty/);
    expect(() => keyToFolder('a\u0000')).toThrow(/control characters/);
    // A lone surrogate would encode as U+FFFD and collide with the real U+FFFD.
    expect(() => keyToFolder('\ud800')).toThrow(/well-formed/);
    expect(keyToFolder('\ufffd')).toBe('~ef~bf~bd');
  });
});

describe('escapeName / unescapeName', () => {
  it('round-trips every well-formed string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.string({ unit: 'grapheme', maxLength: 30 }),
          fc.array(tricky, { maxLength: 10 }).map((pieces) => pieces.join('')),
        ),
        (name) => {
          const escaped = escapeName(name);
          expect(escaped).toMatch(/^[a-z0-9_.~^-]*$/);
          expect(escaped.startsWith('.')).toBe(false);
          expect(unescapeName(escaped)).toBe(name);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('is injective on well-formed strings, case-insensitively', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        expect(escapeName(a).toLowerCase()).not.toBe(escapeName(b).toLowerCase());
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('undoes the key-folder rules too (trailing dot, device names)', () => {
    for (const key of ['trailing.', 'con', 'nul.txt', 'a..', '...']) {
      expect(unescapeName(keyToFolder(key))).toBe(key);
    }
  });
});
