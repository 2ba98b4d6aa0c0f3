import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { progressWatchdog, throwIfAborted, withDeadline } from '../../src/adapter/index.js';
import { AbortedError, TransientError } from '../../src/index.js';
import { rejection } from '../helpers.js';

describe('withDeadline', () => {
  test('settles as the request does when it answers in time', async () => {
    expect(await withDeadline(async () => 7, { what: 'x', timeoutMs: 1000 })).toBe(7);
    const raw = new Error('raw');
    expect(
      await rejection(withDeadline(() => Promise.reject(raw), { what: 'x', timeoutMs: 1000 })),
    ).toBe(raw);
  });

  test('a request that never answers, even one that ignores its signal, fails transient', async () => {
    let seen: AbortSignal | undefined;
    const error = await rejection(
      withDeadline(
        (signal) => {
          seen = signal;
          return new Promise(() => {});
        },
        { what: 'S3 get of "x"', timeoutMs: 30 },
      ),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('S3 get of "x" got no answer within 0.0 s');
    expect(seen?.aborted).toBe(true);
  });

  test('the caller’s signal cancels with AbortedError, before or during the request', async () => {
    const controller = new AbortController();
    const running = withDeadline(() => new Promise(() => {}), {
      what: 'x',
      timeoutMs: 10_000,
      signal: controller.signal,
    });
    controller.abort();
    expect(await rejection(running)).toBeInstanceOf(AbortedError);
    expect(
      await rejection(
        withDeadline(async () => 1, { what: 'x', timeoutMs: 10, signal: controller.signal }),
      ),
    ).toBeInstanceOf(AbortedError);
  });

  test('a late failure after the deadline is ignored, not an unhandled rejection', async () => {
    const error = await rejection(
      withDeadline(() => delay(50).then(() => Promise.reject(new Error('late'))), {
        what: 'x',
        timeoutMs: 10,
      }),
    );
    expect(error).toBeInstanceOf(TransientError);
    await delay(80);
  });
});

describe('progressWatchdog', () => {
  test('fires only after a quiet period, and not after stop', async () => {
    const stalls: Error[] = [];
    const watchdog = progressWatchdog({
      what: 'upload',
      timeoutMs: 40,
      onStall: (error) => stalls.push(error),
    });
    for (let i = 0; i < 4; i++) {
      await delay(20);
      watchdog.touch();
    }
    expect(stalls).toEqual([]);
    await delay(80);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeInstanceOf(TransientError);
    const stopped = progressWatchdog({ what: 'u', timeoutMs: 10, onStall: (e) => stalls.push(e) });
    stopped.stop();
    await delay(30);
    expect(stalls).toHaveLength(1);
  });
});

describe('throwIfAborted', () => {
  test('throws AbortedError only once the signal fired', () => {
    const controller = new AbortController();
    throwIfAborted(controller.signal, 'x');
    throwIfAborted(undefined, 'x');
    controller.abort();
    expect(() => throwIfAborted(controller.signal, 'put of x')).toThrow(AbortedError);
    expect(() => throwIfAborted(controller.signal, 'put of x')).toThrow('put of x was cancelled.');
  });
});
