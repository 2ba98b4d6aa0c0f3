import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BlobNotFoundError,
  DefstateError,
  isTransient,
  PreconditionFailedError,
  TransientError,
} from '../src/index.js';
import { ensureBuilt, useTempDir } from './helpers.js';

describe('DefstateError across copies of the package', () => {
  it('recognises errors thrown by another copy of @defstate/core by brand and code', async () => {
    // A CLI or Action bundles its own core while the adapter uses the project's copy.
    await ensureBuilt();
    const copy = join(await useTempDir('copy'), 'core');
    await cp(new URL('../dist', import.meta.url), copy, { recursive: true });
    const other = (await import(
      pathToFileURL(join(copy, 'index.js')).href
    )) as typeof import('../src/index.js');
    expect(other.BlobNotFoundError).not.toBe(BlobNotFoundError);

    const missing = new other.BlobNotFoundError('state-info.json');
    expect(missing).toBeInstanceOf(BlobNotFoundError);
    expect(missing).toBeInstanceOf(DefstateError);
    expect(missing).not.toBeInstanceOf(PreconditionFailedError);
    expect(isTransient(new other.TransientError('throttled'))).toBe(true);
    expect(new other.TransientError('throttled')).toBeInstanceOf(TransientError);

    // And still nothing else: a plain error with the same code is not one of ours.
    const imitation = Object.assign(new Error('x'), { code: 'BLOB_NOT_FOUND' });
    expect(imitation).not.toBeInstanceOf(BlobNotFoundError);
    expect(imitation).not.toBeInstanceOf(DefstateError);
  });
});
