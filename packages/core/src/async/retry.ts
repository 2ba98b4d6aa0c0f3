import { setTimeout as delay } from 'node:timers/promises';
import { AbortedError, isTransient } from '../errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt; 0 means try once. */
  retries: number;
  /** Upper bound of the first backoff, in ms; doubles with each retry. */
  baseDelayMs: number;
  /** No backoff is longer than this, in ms. */
  maxDelayMs: number;
  /**
   * No backoff is shorter than this, in ms (0 by default): for a store known to refuse a second
   * request within some time, where a shorter wait is a wasted try.
   */
  minDelayMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
};

/**
 * Retries of one request to a store (a read, an upload, a record, a delete). A run makes hundreds
 * of them, so each gets more tries than a component's refresh: at a 20% failure rate, seven tries
 * fail together about once in 80,000 requests.
 */
export const STORE_RETRY_POLICY: RetryPolicy = {
  retries: 6,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
};

/** The clock and dice retries use; tests swap in deterministic ones. */
export interface RetryRuntime {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

export const systemRuntime: RetryRuntime = {
  sleep: async (ms, signal) => {
    await delay(ms, undefined, { signal });
  },
  random: Math.random,
};

/**
 * Exponential backoff with full jitter: a uniform wait in [0, min(max, base·2^retry)), or in
 * [min, ceiling) when the policy sets a floor.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  const floor = Math.min(policy.minDelayMs ?? 0, ceiling);
  return floor + Math.floor(random() * (ceiling - floor));
}

export interface RetryOptions {
  policy: RetryPolicy;
  runtime?: RetryRuntime;
  signal?: AbortSignal;
  /** Which errors are worth another attempt; transient ones by default. */
  shouldRetry?: (error: unknown) => boolean;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `operation` until it succeeds, fails with an error not worth retrying, or uses up its
 * retries. `attempt` counts from 1.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  { policy, runtime = systemRuntime, signal, shouldRetry = isTransient, onRetry }: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt > policy.retries || !shouldRetry(error) || signal?.aborted) throw error;
      const delayMs = backoffDelay(attempt - 1, policy, runtime.random);
      onRetry?.({ attempt, delayMs, error });
      try {
        await runtime.sleep(delayMs, signal);
      } catch {
        throw new AbortedError('Stopped while waiting to retry.', { cause: error });
      }
    }
  }
}
