import { describe, expect, test } from 'vitest';
import { StoreExistence } from '../../src/adapter/index.js';
import { BlobNotFoundError, StoreNotFoundError } from '../../src/index.js';

describe('StoreExistence', () => {
  test('concurrent 404s share one check, and a yes is remembered', async () => {
    let checks = 0;
    const existence = new StoreExistence(async () => {
      checks++;
      return true;
    });
    const missing = () => new StoreNotFoundError('no bucket');
    const errors = await Promise.all(
      [1, 2, 3].map(() => existence.notFound('x', undefined, missing)),
    );
    for (const error of errors) expect(error).toBeInstanceOf(BlobNotFoundError);
    await existence.notFound('y', undefined, missing);
    expect(checks).toBe(1);
    expect(existence.seen).toBe(true);
  });

  test('a no is not remembered: the bucket may be created a moment later', async () => {
    const answers = [false, true];
    const existence = new StoreExistence(async () => answers.shift() ?? true);
    const missing = () => new StoreNotFoundError('no bucket');
    expect(await existence.notFound('x', undefined, missing)).toBeInstanceOf(StoreNotFoundError);
    expect(await existence.notFound('x', undefined, missing)).toBeInstanceOf(BlobNotFoundError);
  });

  test('markSeen skips the check', async () => {
    const existence = new StoreExistence(async () => {
      throw new Error('must not be asked');
    });
    existence.markSeen();
    expect(await existence.exists()).toBe(true);
  });
});
