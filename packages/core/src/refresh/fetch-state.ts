import { lstat, readlink } from 'node:fs/promises';
import { type RetryPolicy, type RetryRuntime, withRetry } from '../async/retry.js';
import {
  AbortedError,
  DefstateError,
  describeError,
  RefreshFailedError,
  TimeoutError,
} from '../errors.js';
import { removeFile } from '../fs/atomic.js';
import { type Digest, readDigest } from '../fs/hash-file.js';
import type { Component } from '../project/component.js';
import { runGuarded } from './component-guard.js';
import type { RefreshEvent } from './report.js';

export interface FetchOptions {
  statePath: string;
  projectRoot: string;
  timeoutMs: number;
  policy: RetryPolicy;
  runtime: RetryRuntime;
  signal: AbortSignal | undefined;
  onEvent: (event: RefreshEvent) => void;
  /** Told the number of each attempt as it starts. */
  onAttempt: (attempt: number) => void;
}

/**
 * The fetch step of a key's refresh: runs the component's `refresh` until it writes its state,
 * retrying transient failures with backoff, each attempt bounded by the timeout and the run's
 * signal; then hashes what it wrote.
 */
export async function fetchComponentState(
  component: Component,
  options: FetchOptions,
): Promise<StagedState> {
  const { key } = component;
  return withRetry(
    async (attempt) => {
      options.onAttempt(attempt);
      await runAttempt(component, { ...options, attempt });
      return hashStagedState(key, options.statePath);
    },
    {
      policy: options.policy,
      runtime: options.runtime,
      signal: options.signal,
      onRetry: ({ attempt, delayMs, error }) =>
        options.onEvent({ type: 'retry', key, attempt, delayMs, error: asError(error) }),
    },
  ).catch((error: unknown) => {
    throw asRefreshError(key, error);
  });
}

interface AttemptOptions {
  statePath: string;
  attempt: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  projectRoot: string;
  onEvent: (event: RefreshEvent) => void;
}

/**
 * One call of a component's `refresh`, bounded by the timeout and the run's signal. A component
 * that ignores its signal is abandoned when the time is up; its late writes go to a staging file
 * that is never committed.
 */
async function runAttempt(component: Component, options: AttemptOptions): Promise<void> {
  const { key } = component;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    const fail = () => reject(controller.signal.reason);
    controller.signal.addEventListener('abort', fail, { once: true });
    timer = setTimeout(
      () =>
        controller.abort(
          new TimeoutError(
            `Refresh of "${key}" took longer than ${options.timeoutMs} ms and was stopped.`,
            {
              hint: 'Raise --timeout, or find out why the source is slow.',
            },
          ),
        ),
      options.timeoutMs,
    );
  });
  // It may reject before the race below is awaited (a run already cancelled, a timeout during the
  // `rm`): handle it now so that it is never an unhandled rejection. The race still sees it.
  stopped.catch(() => {});
  const forwardAbort = () =>
    controller.abort(
      new AbortedError(`Refresh of "${key}" was cancelled.`, { cause: options.signal?.reason }),
    );
  if (options.signal?.aborted) forwardAbort();
  options.signal?.addEventListener('abort', forwardAbort, { once: true });
  let guarded: ReturnType<typeof runGuarded> | undefined;
  try {
    // A retry starts from nothing, not from what a failed attempt left behind. (The first
    // attempt writes into a staging folder made for it, empty.)
    if (options.attempt > 1) await removeFile(options.statePath);
    // The component runs in a context that names its key: its crashes outside its await chain
    // and its calls of process.exit end this attempt, not the run (component-guard.ts).
    guarded = runGuarded(
      key,
      (error) => controller.abort(error),
      async () => {
        await component.refresh({
          key,
          statePath: options.statePath,
          signal: controller.signal,
          log: (message) => options.onEvent({ type: 'log', key, message }),
          projectRoot: options.projectRoot,
          attempt: options.attempt,
        });
      },
    );
    await Promise.race([stopped, guarded.result]);
  } finally {
    guarded?.end();
    // Whatever the component left running is told to stop: its signal aborts now.
    if (!controller.signal.aborted)
      controller.abort(new AbortedError(`The refresh of "${key}" has ended.`));
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forwardAbort);
  }
}

/** What a component wrote: its digest, and its bytes when it is small (see `readDigest`). */
export interface StagedState {
  digest: Digest;
  bytes?: Buffer;
}

async function hashStagedState(key: string, statePath: string): Promise<StagedState> {
  const stats = await lstat(statePath).catch(() => undefined);
  // A link would commit a pointer to somewhere else (outside the project, into the image), not
  // the state: refuse it rather than follow it.
  if (stats?.isSymbolicLink()) {
    throw new RefreshFailedError(
      key,
      `Refresh of "${key}" wrote a symbolic link at statePath (to ${await readlink(statePath).catch(() => '?')}), not the state.`,
      { hint: 'Write the state itself to statePath: copy the file rather than linking it.' },
    );
  }
  if (!stats?.isFile()) {
    throw new RefreshFailedError(key, `Refresh of "${key}" finished without writing its state.`, {
      hint: 'refresh({ statePath }) must write the whole state to the file at statePath.',
    });
  }
  return readDigest(statePath);
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(describeError(error));
}

function asRefreshError(key: string, error: unknown): Error {
  if (error instanceof DefstateError) return error;
  return new RefreshFailedError(key, `Refresh of "${key}" failed: ${describeError(error)}`, {
    cause: error,
  });
}
