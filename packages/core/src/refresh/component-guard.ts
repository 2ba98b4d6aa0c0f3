import { AsyncLocalStorage } from 'node:async_hooks';
import { describeError, RefreshFailedError } from '../errors.js';

/**
 * Components are user code, run in this process: what one of them does wrong must fail that key
 * and nothing else. A refresh attempt runs inside an async context that names its key, which
 * Node carries into everything the component starts (promises, timers, sockets' callbacks). While
 * a run is going:
 * - an exception thrown outside the component's await chain (in a timer, an event handler) and a
 *   promise it rejected with nobody to handle it fail that key's attempt, instead of ending the
 *   process with Node's raw stack;
 * - `process.exit()` called by a component throws inside the component instead of ending the run
 *   (which would otherwise exit 0 with nothing refreshed);
 * - anything else reaches Node as before.
 * A component that leaves a timer or a socket open cannot keep the run from ending: the run does
 * not wait for the event loop, and the CLI ends its process when the command is done.
 */
interface RunningAttempt {
  key: string;
  /** Ends the attempt with this error, if it is still running. */
  fail(error: Error): void;
  /** The attempt has ended: late errors of its code are only warned about. */
  ended: boolean;
}

const running = new AsyncLocalStorage<RunningAttempt>();
let guards = 0;
let exitBeforeGuard: typeof process.exit | undefined;

/** Runs one attempt of a component inside the context that names it. */
export function runGuarded<T>(
  key: string,
  fail: (error: Error) => void,
  attempt: () => Promise<T>,
): { result: Promise<T>; end: () => void } {
  const context: RunningAttempt = { key, fail, ended: false };
  const result = running.run(context, () => Promise.resolve().then(attempt));
  return {
    result,
    end: () => {
      context.ended = true;
    },
  };
}

/**
 * Installs the guards for the length of `run` (nested and concurrent runs share them), and
 * restores the process's own behaviour afterwards.
 */
export async function withComponentGuards<T>(run: () => Promise<T>): Promise<T> {
  install();
  try {
    return await run();
  } finally {
    uninstall();
  }
}

function install(): void {
  if (guards++ > 0) return;
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  exitBeforeGuard = process.exit;
  const realExit = exitBeforeGuard;
  process.exit = ((code?: number | string | null) => {
    const attempt = running.getStore();
    if (!attempt) return realExit(code);
    const error = new RefreshFailedError(
      attempt.key,
      `Refresh of "${attempt.key}" called process.exit(${code ?? ''}); nothing of it was committed.`,
      {
        hint: 'A component must return when its state is written, or throw to fail; it never ends the process.',
      },
    );
    attempt.fail(error);
    throw error;
  }) as typeof process.exit;
}

function uninstall(): void {
  if (--guards > 0) return;
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
  if (exitBeforeGuard) process.exit = exitBeforeGuard;
  exitBeforeGuard = undefined;
}

function onUncaught(error: unknown): void {
  crashed(error, 'threw outside its await chain (in a timer or an event handler)');
}

function onUnhandled(reason: unknown): void {
  crashed(reason, 'rejected a promise that nobody handled');
}

function crashed(error: unknown, how: string): void {
  const attempt = running.getStore();
  if (!attempt) {
    // Not a component's doing: end the process as Node would have, with the error.
    uninstall();
    guards = 0;
    setImmediate(() => {
      throw error;
    });
    return;
  }
  const message = `Refresh of "${attempt.key}" ${how}: ${describeError(error)}`;
  if (attempt.ended) {
    process.emitWarning(`${message} (after its refresh had ended; ignored)`, {
      code: 'DEFSTATE_COMPONENT_LATE_ERROR',
    });
    return;
  }
  attempt.fail(
    new RefreshFailedError(attempt.key, message, {
      cause: error,
      hint: 'Await every promise the refresh starts, and handle errors of callbacks and events.',
    }),
  );
}
