import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ConfigError,
  fileStorageAdapter,
  parseStorageUrl,
  resolveAdapterOptions,
} from '../../src/index.js';
import { expectOnlyDefstateErrors, hostileText } from './arbitraries.js';

// A storage URL comes from a flag or an environment variable, often pasted, sometimes with
// credentials in it. Whatever it is, it selects an adapter and options or is a ConfigError naming
// where it came from, and no error ever repeats a secret planted in it.

const SECRET = 'S3cr3tPlantedValue';
const scheme = fc.constantFrom('file', 's3', 'gs', 'azblob', 'minio', 'https', 'FILE', 'x+y', '');
const secretPart = fc.constantFrom('', `AKIAPLANTED:${SECRET}@`, `user:${SECRET}@`, `${SECRET}@`);
const query = fc.constantFrom(
  '',
  `?x-amz-security-token=${SECRET}`,
  `?sv=2024&sig=${SECRET}&se=1`,
  `?region=eu&X-Amz-Signature=${SECRET}`,
  '?region=%',
  '?pth=1',
);
const url = fc
  .tuple(
    scheme,
    fc.constantFrom('://', ':', ':///', '://localhost/', ''),
    secretPart,
    hostileText,
    hostileText,
    query,
  )
  .map(([s, separator, secret, host, path, q]) => `${s}${separator}${secret}${host}/${path}${q}`);

describe('storage URLs, fuzzed', () => {
  test('any text selects an adapter or is a ConfigError naming its origin, without secrets', () => {
    fc.assert(
      fc.property(fc.oneof(url, hostileText, fc.webUrl()), (text) => {
        const outcome = expectOnlyDefstateErrors(() => {
          const { adapter, url: parsed } = parseStorageUrl(text, 'DEFSTATE_STORAGE_URL');
          if (adapter !== 'file') return adapter;
          return resolveAdapterOptions(fileStorageAdapter, {
            adapter,
            url: parsed,
            baseDir: '/w',
            source: 'env-url',
            origin: 'DEFSTATE_STORAGE_URL',
          });
        });
        if (outcome instanceof Error) {
          expect(outcome).toBeInstanceOf(ConfigError);
          expect((outcome as ConfigError).field).toBe('DEFSTATE_STORAGE_URL');
          expect(outcome.message).not.toContain(SECRET);
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
