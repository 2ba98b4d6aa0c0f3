import { afterEach, beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { EMULATOR_ENV, openTestStore, uniquePrefix } from './helpers.js';

const endpoint = inject('s3Endpoint');
beforeAll(() => {
  for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
});
afterEach(() => vi.restoreAllMocks());

describe('s3 request tracing', () => {
  test('DEFSTATE_DEBUG=store traces each operation of the S3 store to stderr', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      // The AWS SDK's Node-version notice goes to stderr too; only trace lines are counted.
      if (String(chunk).startsWith('defstate:')) lines.push(String(chunk));
      return true;
    });
    const store = await openTestStore(
      { endpoint, prefix: uniquePrefix('tracing') },
      { ...process.env, DEFSTATE_DEBUG: 'store' },
    );
    try {
      await store.put('a', 'hello', { ifNoneMatch: '*' });
      await store.list('');
      await store.delete('a');
    } finally {
      await store.close();
    }
    vi.restoreAllMocks();
    expect(lines.map((line) => line.split(' → ')[0]?.replace(/ s3:\/\/\S+/, ''))).toEqual([
      'defstate:store:s3 put',
      'defstate:store:s3 list',
      'defstate:store:s3 delete',
    ]);
    expect(lines[0]).toMatch(/→ ok etag "\w+" \(create-only\) \(\d+ ms\)/);
    expect(lines[1]).toContain('→ ok 1 items');
  });
});
