import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isTransient,
  StorageError,
  TransientError,
  withRetry,
} from '../src/index.js';
import { fakeRuntime } from './helpers.js';

const transient = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

/** An operation that fails with `errors` in turn, then returns 'done'; it records its attempts. */
function failing(...errors: unknown[]) {
  const attempts: number[] = [];
  const operation = async (attempt: number) => {
    attempts.push(attempt);
    const error = errors.shift();
    if (error !== undefined) throw error;
    return 'done';
  };
  return { operation, attempts };
}

describe('backoffDelay', () => {
  it('waits a uniform time below min(max, base·2^retry)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, baseDelayMs, maxDelayMs, random) => {
          const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
          const delay = backoffDelay(retry, { retries: 0, baseDelayMs, maxDelayMs }, () => random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
          expect(delay).toBe(Math.floor(random * ceiling));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never waits less than a floor, nor more than the ceiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, baseDelayMs, maxDelayMs, minDelayMs, random) => {
          const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
          const policy = { retries: 0, baseDelayMs, maxDelayMs, minDelayMs };
          const delay = backoffDelay(retry, policy, () => random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.min(minDelayMs, ceiling));
          expect(delay).toBeLessThanOrEqual(ceiling);
          if (minDelayMs < ceiling) expect(delay).toBeLessThan(ceiling);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('withRetry', () => {
  const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('retries transient failures with exponential, capped, jittered delays', async () => {
    const runtime = fakeRuntime(0.999_999);
    const retries: Array<{ attempt: number; delayMs: number }> = [];
    const { operation, attempts } = failing(transient(), transient(), transient(), transient());
    const result = await withRetry(operation, {
      policy,
      runtime,
      onRetry: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
    });
    expect(result).toBe('done');
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    // Ceilings 100, 200, 400, 800 ms; the die rolls just under 1.
    expect(runtime.delays).toEqual([99, 199, 399, 799]);
    expect(retries).toEqual(
      runtime.delays.map((delayMs, index) => ({ attempt: index + 1, delayMs })),
    );
  });

  it('caps the delay at maxDelayMs', async () => {
    const runtime = fakeRuntime(0.5);
    const { operation } = failing(...Array.from({ length: 5 }, transient));
    await withRetry(operation, { policy, runtime });
    expect(runtime.delays).toEqual([50, 100, 200, 400, 500]);
  });

  it('draws each delay from the jitter', async () => {
    const runtime = fakeRuntime(0);
    const { operation } = failing(transient(), transient());
    await withRetry(operation, { policy, runtime });
    expect(runtime.delays).toEqual([0, 0]);
  });

  it('stops after `retries` retries and throws the last error', async () => {
    const runtime = fakeRuntime();
    const errors = Array.from({ length: 10 }, (_, index) =>
      Object.assign(transient(), { message: `failure ${index + 1}` }),
    );
    const { operation, attempts } = failing(...errors);
    await expect(withRetry(operation, { policy: { ...policy, retries: 2 }, runtime })).rejects.toBe(
      errors[2],
    );
    expect(attempts).toEqual([1, 2, 3]);
    expect(runtime.delays).toHaveLength(2);
  });

  it('tries once when retries is 0', async () => {
    const runtime = fakeRuntime();
    const { operation, attempts } = failing(transient());
    await expect(
      withRetry(operation, { policy: { ...policy, retries: 0 }, runtime }),
    ).rejects.toThrow('socket hang up');
    expect(attempts).toEqual([1]);
  });

  it('does not retry an error that is not transient', async () => {
    const runtime = fakeRuntime();
    const notFound = Object.assign(new Error('not found'), { status: 404 });
    const { operation, attempts } = failing(notFound);
    await expect(withRetry(operation, { policy, runtime })).rejects.toBe(notFound);
    expect(attempts).toEqual([1]);
    expect(runtime.delays).toEqual([]);
  });

  it('honours a custom shouldRetry', async () => {
    const runtime = fakeRuntime();
    const { operation, attempts } = failing(new Error('flaky'), new Error('flaky'));
    await withRetry(operation, { policy, runtime, shouldRetry: () => true });
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const runtime = {
      random: () => 0.5,
      sleep: async (_ms: number, signal?: AbortSignal) => {
        controller.abort();
        if (signal?.aborted) throw new Error('aborted');
      },
    };
    const { operation, attempts } = failing(transient(), transient());
    await expect(
      withRetry(operation, { policy, runtime, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(attempts).toEqual([1]);
  });

  it('does not retry once the signal has aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const runtime = fakeRuntime();
    const { operation, attempts } = failing(transient());
    await expect(
      withRetry(operation, { policy, runtime, signal: controller.signal }),
    ).rejects.toThrow('socket hang up');
    expect(attempts).toEqual([1]);
  });

  it('has a sane default policy', () => {
    expect(DEFAULT_RETRY_POLICY.retries).toBeGreaterThan(0);
    expect(DEFAULT_RETRY_POLICY.baseDelayMs).toBeLessThan(DEFAULT_RETRY_POLICY.maxDelayMs);
  });
});

describe('isTransient', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    ['ECONNRESET', withCode('ECONNRESET'), true],
    ['ETIMEDOUT', withCode('ETIMEDOUT'), true],
    ['EAI_AGAIN', withCode('EAI_AGAIN'), true],
    ['UND_ERR_SOCKET', withCode('UND_ERR_SOCKET'), true],
    ['status 503', { status: 503 }, true],
    ['status 500', { status: 500 }, true],
    ['status 429', { status: 429 }, true],
    ['statusCode 502', { statusCode: 502 }, true],
    ['status 404', { status: 404 }, false],
    ['status 499', { status: 499 }, false],
    ['ENOENT', withCode('ENOENT'), false],
    ['TransientError', new TransientError('throttled'), true],
    ['StorageError', new StorageError('bad'), false],
    ['a plain Error', new Error('boom'), false],
    ['a string', 'ECONNRESET', false],
    ['null', null, false],
    ['undefined', undefined, false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isTransient(error)).toBe(expected);
  });

  it('looks through the cause chain', () => {
    const root = withCode('ECONNRESET');
    const wrapped = new Error('fetch failed', { cause: new Error('request', { cause: root }) });
    expect(isTransient(wrapped)).toBe(true);
    expect(isTransient(new Error('outer', { cause: { status: 503 } }))).toBe(true);
    expect(isTransient(new Error('outer', { cause: new Error('inner') }))).toBe(false);
  });

  it('trusts a defstate error over its cause', () => {
    expect(isTransient(new StorageError('final', { cause: withCode('ECONNRESET') }))).toBe(false);
  });

  it('ends on a cause chain that loops', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isTransient(a)).toBe(false);
    const self = new Error('self');
    (self as { cause?: unknown }).cause = self;
    expect(isTransient(self)).toBe(false);
  });
});
