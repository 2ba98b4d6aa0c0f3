import { afterEach, describe, expect, test, vi } from 'vitest';
import { blobEndpoint, open, uniquePrefix } from './azurite.js';

afterEach(() => vi.restoreAllMocks());

describe('azure endpoint and request tracing', () => {
  test('a SAS in accountUrl reaches neither endpoint, location, trace nor error', async () => {
    const signature = 'c2lnbmF0dXJlLXNlY3JldC1kby1ub3QtcHJpbnQ%3D';
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const store = await open(
      {
        prefix: uniquePrefix('tracing'),
        accountUrl: `${blobEndpoint}?sv=2024-05-04&sp=rwdl&sig=${signature}`,
      },
      { DEFSTATE_DEBUG: '*' },
    );
    const error = await store.put('a', 'x').catch((caught: unknown) => caught);
    await store.head('a').catch(() => {});
    vi.restoreAllMocks();
    expect((store as { endpoint?: string }).endpoint).toBe(blobEndpoint);
    expect(store.location).not.toContain('sig=');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^defstate:store:azure put azblob:\/\/devstoreaccount1\/.*\/a → ACCESS_DENIED/,
    );
    for (const text of [...lines, String((error as Error).message)]) {
      expect(text).not.toContain('c2lnbmF0dXJl');
    }
  });
});
