import { AbortedError, TransientError } from '../errors.js';

/**
 * Every request an adapter makes gets an answer or a typed error within a bound, whatever its SDK
 * does with an AbortSignal. `withDeadline` races the request against a timer and the caller's
 * signal: the timer keeps the process alive (a request in flight must not let Node exit with the
 * caller's promise unsettled), and the request's own signal is aborted so an SDK that honours it
 * releases the socket. A late answer or failure after the deadline is ignored.
 */

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export interface DeadlineOptions {
  /** What is being done, for messages: `S3 get of "x" in s3://b/p`. */
  what: string;
  /** Bound on the request in ms; 0 or Infinity turns the timer off (the signal still applies). */
  timeoutMs: number;
  /** The caller's cancellation. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs `request` with a signal that aborts on the deadline or the caller's signal. Rejects with
 * `TransientError` when the time runs out and `AbortedError` when the caller cancels; otherwise
 * settles as `request` does (its errors are the caller's to translate).
 */
export function withDeadline<T>(
  request: (signal: AbortSignal) => Promise<T>,
  { what, timeoutMs, signal }: DeadlineOptions,
): Promise<T> {
  if (signal?.aborted) {
    return Promise.reject(new AbortedError(`${what} was cancelled.`, { cause: signal.reason }));
  }
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error) => {
      if (settled) return;
      finish();
      controller.abort(error);
      reject(error);
    };
    const onAbort = () =>
      fail(new AbortedError(`${what} was cancelled.`, { cause: signal?.reason }));
    const timer =
      timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? setTimeout(
            () =>
              fail(
                new TransientError(`${what} got no answer within ${formatSeconds(timeoutMs)}.`, {
                  hint: 'The store or the network is slow or dropped the request; defstate retries it.',
                }),
              ),
            timeoutMs,
          )
        : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    let running: Promise<T>;
    try {
      running = request(controller.signal);
    } catch (error) {
      finish();
      reject(error);
      return;
    }
    running.then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}

/**
 * A watchdog for transfers that may rightly take long (a multi-GB upload) but must not go quiet:
 * `touch()` on every bit of progress, `stop()` when the transfer settles. If `timeoutMs` passes
 * without a touch, `onStall` gets a `TransientError`. Its timer keeps the process alive.
 */
export function progressWatchdog({
  what,
  timeoutMs,
  onStall,
}: {
  what: string;
  timeoutMs: number;
  onStall: (error: TransientError) => void;
}): { touch: () => void; stop: () => void } {
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) return { touch() {}, stop() {} };
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
    onStall(
      new TransientError(`${what} made no progress for ${formatSeconds(timeoutMs)}.`, {
        hint: 'The connection may have dropped; defstate retries it.',
      }),
    );
  }, timeoutMs);
  return {
    touch: () => {
      if (!stopped) timer.refresh();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Throws `AbortedError` when the caller's signal has fired. For stores whose work is local (a
 * folder) and so needs no deadline: call it before each step that would change something.
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was cancelled.`, { cause: signal.reason });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
