import { describe, expect, test } from 'vitest';
import { createTracer, isDebugEnabled } from '../../src/adapter/index.js';
import { TransientError } from '../../src/index.js';

describe('isDebugEnabled', () => {
  test.each<[string | undefined, string, boolean]>([
    [undefined, 'store:s3', false],
    ['', 'store:s3', false],
    ['1', 'store:s3', true],
    ['*', 'anything', true],
    ['store', 'store:s3', true],
    ['store', 'store', true],
    ['store:*', 'store:gcs', true],
    ['store:s3', 'store:s3', true],
    ['store:s3', 'store:gcs', false],
    ['store:s3, store:azure', 'store:azure', true],
    ['stor', 'store:s3', false],
    ['refresh', 'store:file', false],
  ])('DEFSTATE_DEBUG=%j turns %s on: %s', (setting, namespace, expected) => {
    expect(isDebugEnabled(namespace, { DEFSTATE_DEBUG: setting })).toBe(expected);
  });
});

describe('createTracer', () => {
  test('traces each operation with its outcome and time, redacted', async () => {
    const lines: string[] = [];
    let clock = 0;
    const tracer = createTracer('store', {
      env: { DEFSTATE_DEBUG: 'store:s3' },
      write: (line) => lines.push(line),
      now: () => (clock += 5),
    });
    expect(tracer.enabled).toBe(false);
    const s3 = tracer.child('s3');
    expect(s3.namespace).toBe('store:s3');
    expect(s3.enabled).toBe(true);
    await s3.operation(
      'get',
      's3://b/p/x',
      async () => ({ size: 3 }),
      (r) => `${r.size} B`,
    );
    await s3
      .operation('put', 'https://h/x?X-Amz-Signature=abcdef123456', async () => {
        throw new TransientError('HTTP 503');
      })
      .catch(() => {});
    expect(lines).toEqual([
      'defstate:store:s3 get s3://b/p/x → ok 3 B (5 ms)',
      'defstate:store:s3 put https://h/x?X-Amz-Signature=REDACTED → TRANSIENT: HTTP 503 (5 ms)',
    ]);
  });

  test('writes nothing when off', async () => {
    const lines: string[] = [];
    const tracer = createTracer('store:gcs', { env: {}, write: (line) => lines.push(line) });
    tracer.trace('x');
    await tracer.operation('get', 'x', async () => 1);
    expect(lines).toEqual([]);
  });
});
