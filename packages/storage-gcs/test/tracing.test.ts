import { randomBytes } from 'node:crypto';
import { createGcsStore } from '@defstate/storage-gcs';
import { afterEach, describe, expect, inject, test, vi } from 'vitest';

const endpoint = inject('gcsEndpoint');
const bucket = inject('gcsBucket');

function captureStderr(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}
afterEach(() => vi.restoreAllMocks());

describe('gcs endpoint and request tracing', () => {
  test('endpoint is the API endpoint the requests go to', async () => {
    const store = await createGcsStore({ bucket, apiEndpoint: `${endpoint}/`, projectId: 'p' });
    expect(store.endpoint).toBe(endpoint);
  });

  test('DEFSTATE_DEBUG=store:gcs traces each operation to stderr; other namespaces do not', async () => {
    const prefix = `tracing/${randomBytes(4).toString('hex')}`;
    const options = { bucket, prefix, apiEndpoint: endpoint, projectId: 'p' };
    const lines = captureStderr();
    const traced = await createGcsStore(options, { env: { DEFSTATE_DEBUG: 'store:gcs' } });
    await traced.put('a', 'hello');
    await traced.head('a');
    await traced.get('nope').catch(() => {});
    const quiet = await createGcsStore(options, { env: { DEFSTATE_DEBUG: 'store:s3' } });
    await quiet.head('a');
    vi.restoreAllMocks();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(
        `^defstate:store:gcs put gs://${bucket}/${prefix}/a → ok generation \\d+ \\(\\d+ ms\\)\\n$`,
      ),
    );
    expect(lines[1]).toMatch(/^defstate:store:gcs head .* → ok 5 B generation \d+/);
    expect(lines[2]).toMatch(/^defstate:store:gcs get .*\/nope → BLOB_NOT_FOUND: /);
  });
});
