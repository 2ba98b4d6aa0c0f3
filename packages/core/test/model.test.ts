import { describe, expect, it } from 'vitest';
import {
  assertStateKey,
  compareStateVersions,
  createStateVersion,
  emptyStateInfoDocument,
  InvalidKeyError,
  MAX_KEY_LENGTH,
  StateInfoDocumentSchema,
  StateInfoSchema,
  StateKeySchema,
  StateVersionSchema,
} from '../src/index.js';
import { stateInfo } from './helpers.js';

describe('state keys', () => {
  it.each([
    ['empty', '', /must not be empty/],
    ['too long', 'k'.repeat(MAX_KEY_LENGTH + 1), /at most 512/],
    ['NUL', 'a\u0000b', /control characters/],
    ['ESC', 'a\u001b[31mred', /control characters/],
    ['newline', 'a\nb', /control characters/],
    ['DEL', 'a\u007f', /control characters/],
    ['NEL (C1)', 'a\u0085b', /control characters/],
    ['lone high surrogate', 'a\ud800b', /well-formed/],
    ['lone low surrogate', '\udc00', /well-formed/],
    // Documents file entries by key; JavaScript drops an entry filed under this name.
    ['__proto__', '__proto__', /must not be "__proto__"/],
  ])('rejects a key that is %s', (_name, key, reason) => {
    expect(StateKeySchema.safeParse(key).success).toBe(false);
    expect(() => assertStateKey(key)).toThrow(InvalidKeyError);
    expect(() => assertStateKey(key)).toThrow(reason);
  });

  it('rejects what is not a string', () => {
    expect(() => assertStateKey(42)).toThrow(InvalidKeyError);
    expect(() => assertStateKey(undefined)).toThrow(InvalidKeyError);
  });

  it.each([
    'warehouse',
    'k'.repeat(MAX_KEY_LENGTH),
    'Fivetran/Connectors',
    'with spaces and dots.',
    'ключ/データ',
    'emoji 🚀🧪',
    '..',
    '\\windows\\path',
    'CON',
  ])('accepts %j', (key) => {
    expect(assertStateKey(key)).toBe(key);
  });
});

describe('state versions', () => {
  it('sort as strings in creation order', () => {
    const times = [
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00.000Z',
      '2026-01-02T03:04:05.006Z',
      '2026-01-02T03:04:05.007Z',
      '2026-11-27T10:15:30.123Z',
    ].map((iso) => new Date(iso));
    const versions = times.map((time) => createStateVersion(time));
    const shuffled = [versions[3], versions[0], versions[4], versions[2], versions[1]] as string[];
    expect([...shuffled].sort()).toEqual(versions);
    expect([...shuffled].sort(compareStateVersions)).toEqual(versions);
  });

  it('spell out the UTC time', () => {
    expect(createStateVersion(new Date('2026-11-27T10:15:30.123Z'))).toMatch(
      /^20261127T101530123Z-[0-9a-f]{12}$/,
    );
  });

  it('differ when created in the same millisecond', () => {
    const now = new Date();
    const versions = new Set(Array.from({ length: 1000 }, () => createStateVersion(now)));
    expect(versions.size).toBe(1000);
  });

  it('compare oldest first', () => {
    const older = createStateVersion(new Date('2026-01-01T00:00:00.000Z'));
    const newer = createStateVersion(new Date('2026-01-01T00:00:00.001Z'));
    expect(compareStateVersions(older, newer)).toBe(-1);
    expect(compareStateVersions(newer, older)).toBe(1);
    expect(compareStateVersions(older, older)).toBe(0);
  });

  it.each([
    ['20261127T101530123Z-3f9a1c0b7d2e', true],
    ['20261127T101530123Z-3F9A1C0B7D2E', false],
    ['20261127T101530Z-3f9a1c0b7d2e', false],
    ['20261127T101530123Z-3f9a1c0b7d2', false],
    ['20261127T101530123Z_3f9a1c0b7d2e', false],
    [' 20261127T101530123Z-3f9a1c0b7d2e', false],
    ['latest', false],
  ])('schema judges %j valid: %s', (version, valid) => {
    expect(StateVersionSchema.safeParse(version).success).toBe(valid);
  });
});

describe('StateInfoSchema', () => {
  it('accepts a complete record', () => {
    const info = stateInfo('warehouse');
    expect(StateInfoSchema.parse(info)).toEqual(info);
  });

  it('is strict about unknown fields', () => {
    expect(StateInfoSchema.safeParse({ ...stateInfo('a'), extra: 1 }).success).toBe(false);
  });

  it.each([
    ['management', { management: 'remote' }],
    ['sha256 (upper case)', { sha256: 'A'.repeat(64) }],
    ['sha256 (short)', { sha256: 'a'.repeat(63) }],
    ['size (negative)', { size: -1 }],
    ['size (fraction)', { size: 1.5 }],
    ['createdAt', { createdAt: 'yesterday' }],
    ['version', { version: 'v1' }],
    ['key', { key: '' }],
  ])('rejects a bad %s', (_field, patch) => {
    expect(StateInfoSchema.safeParse({ ...stateInfo('a'), ...patch }).success).toBe(false);
  });

  it('requires every field', () => {
    const { size: _size, ...withoutSize } = stateInfo('a');
    expect(StateInfoSchema.safeParse(withoutSize).success).toBe(false);
  });
});

describe('StateInfoDocumentSchema', () => {
  it('accepts the empty document and a filled one', () => {
    expect(StateInfoDocumentSchema.safeParse(emptyStateInfoDocument()).success).toBe(true);
    const document = {
      ...emptyStateInfoDocument(),
      keys: { a: stateInfo('a'), 'b/c': stateInfo('b/c') },
    };
    expect(StateInfoDocumentSchema.parse(document)).toEqual(document);
  });

  it('rejects an entry filed under another key, naming both', () => {
    const result = StateInfoDocumentSchema.safeParse({
      ...emptyStateInfoDocument(),
      keys: { a: stateInfo('b') },
    });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.path).toEqual(['keys', 'a', 'key']);
    expect(issue?.message).toContain('"a"');
    expect(issue?.message).toContain('"b"');
  });

  it('is strict and checks its schema version', () => {
    const base = emptyStateInfoDocument();
    expect(StateInfoDocumentSchema.safeParse({ ...base, extra: true }).success).toBe(false);
    expect(StateInfoDocumentSchema.safeParse({ ...base, schemaVersion: 2 }).success).toBe(false);
    expect(
      StateInfoDocumentSchema.safeParse({ ...base, keys: { '': stateInfo('a') } }).success,
    ).toBe(false);
  });
});
