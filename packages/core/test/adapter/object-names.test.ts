import { describe, expect, test } from 'vitest';
import { assertObjectName, isObjectName, ObjectKeys, prefixRoot } from '../../src/adapter/index.js';
import { StorageError } from '../../src/index.js';

describe('object names', () => {
  test.each(['a', 'a/b', 'dots.../x..y', 'emoji-🚀/ключ', 'with space/ü', '.hidden', 'a/.b'])(
    'accepts %j',
    (name) => {
      expect(isObjectName(name)).toBe(true);
      assertObjectName(name);
    },
  );

  test.each(['', '/a', 'a/', 'a//b', '.', '..', 'a/./b', 'a/../b', '../x', 'x\uD800y'])(
    'refuses %j with a StorageError',
    (name) => {
      expect(isObjectName(name)).toBe(false);
      expect(() => assertObjectName(name)).toThrow(StorageError);
    },
  );

  test('a store can forbid more characters', () => {
    expect(isObjectName('a\nb')).toBe(true);
    expect(isObjectName('a\nb', { forbidden: /[\r\n]/ })).toBe(false);
  });
});

describe('ObjectKeys', () => {
  test('maps names under the prefix and back, and refuses names outside it', () => {
    const keys = new ObjectKeys('/team/app/');
    expect(keys.root).toBe('team/app/');
    expect(keys.keyOf('states/x')).toBe('team/app/states/x');
    expect(keys.nameOf('team/app/states/x')).toBe('states/x');
    expect(keys.nameOf('team/other/x')).toBeUndefined();
    expect(keys.listPrefixOf('sta')).toBe('team/app/sta');
    expect(() => keys.keyOf('../escape')).toThrow(StorageError);
    expect(new ObjectKeys('').keyOf('x')).toBe('x');
    expect(prefixRoot('')).toBe('');
  });

  test('counts the key length in UTF-8 bytes, prefix included', () => {
    const keys = new ObjectKeys('p', { maxKeyBytes: 10, keyWord: 'an S3 key' });
    expect(keys.keyOf('abcdefgh')).toBe('p/abcdefgh');
    expect(() => keys.keyOf('ключи')).toThrow(/longer than 10 bytes/);
  });
});
