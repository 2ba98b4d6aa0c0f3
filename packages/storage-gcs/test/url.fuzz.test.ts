import { ConfigError, parseStorageUrl, resolveAdapterOptions } from '@defstate/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { storageAdapter } from '../src/index.js';

// GCS storage URLs as users paste them: whatever the text, it becomes options or a ConfigError
// naming --storage, and no message repeats a secret planted in it (5,000 of core's 100,000
// fuzzed inputs go through this adapter's optionsFromUrl and schema).

const SECRET = 'Pl4ntedS3cretValue';
const piece = fc.oneof(
  fc.constantFrom(
    '%',
    '%2',
    '%zz',
    '%2F',
    '%E0%A4%A',
    '/',
    '//',
    '..',
    '.',
    '?',
    '&',
    '=',
    '#',
    '@',
    ':',
    ' ',
    '~',
    '🚀',
    '\\ud800',
  ),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const text = fc.array(piece, { maxLength: 10 }).map((parts) => parts.join(''));
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'region',
          'endpoint',
          'apiEndpoint',
          'projectId',
          'requestTimeoutMs',
          'stallTimeoutMs',
          'forcePathStyle',
          'prefix',
          'regoin',
        ),
        text,
      ),
      fc.oneof(fc.constantFrom('', 'true', '1', '100', 'http://127.0.0.1:9'), text),
    ),
    { maxLength: 4 },
  )
  // A credential rides in a parameter that names itself as one, as signed URLs and SASes do.
  .chain((pairs) =>
    fc
      .constantFrom([], [['x-amz-security-token', SECRET]], [['sig', SECRET]])
      .map((secret) => [...pairs, ...secret]),
  )
  .map((pairs) =>
    pairs.length ? `?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}` : '',
  );
const url = fc
  .tuple(fc.constantFrom('', `AKIA:${SECRET}@`, `${SECRET}@`), text, text, query)
  .map(([userinfo, host, path, q]) => `gs://${userinfo}${host}/${path}${q}`);

describe('GCS storage URLs, fuzzed', () => {
  test('any URL is options or a ConfigError naming --storage, without secrets', () => {
    fc.assert(
      fc.property(url, (value) => {
        try {
          const { adapter, url: parsed } = parseStorageUrl(value, '--storage');
          expect(adapter).toBe(storageAdapter.name);
          resolveAdapterOptions(storageAdapter, {
            adapter,
            url: parsed,
            baseDir: '/w',
            source: 'flag',
            origin: '--storage',
          });
        } catch (error) {
          expect(error, String((error as Error)?.stack)).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).field).toBe('--storage');
          expect((error as Error).message).not.toContain(SECRET);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
