import { finished, PassThrough, type Readable } from 'node:stream';
import { AbortedError, DefstateError, StorageError, TransientError } from '../errors.js';
import { transientReason } from './transient.js';

/**
 * The body of a download as the caller reads it. HTTP stacks differ in how they report a
 * connection that drops mid-body: undici and Node's http raise an error, node-fetch 2 (under the
 * Google SDK) just never ends the stream, and a proxy that closes early can make a body end
 * cleanly but short. Whatever the stack, through this guard:
 *
 * - a body shorter (or longer) than its announced length fails with `TransientError`;
 * - a body whose source closes without ending, or errors, fails with a typed error (the adapter's
 *   translation, or `TransientError` / `StorageError`), never with a raw SDK or socket error;
 * - a body that gets no bytes for `stallTimeoutMs` while the reader waits fails with
 *   `TransientError`. The timer keeps the process alive only while the reader is waiting for the
 *   network, so a stalled download cannot end the process with its promise unsettled, and a body
 *   nobody reads does not hold the process open;
 * - the caller's signal ends it with `AbortedError`;
 * - when the reader stops early (destroys it), the source is destroyed, releasing the socket.
 */

export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

export interface GuardBodyOptions {
  /** What is being read, for messages: `gs://bucket/prefix/name`. */
  what: string;
  /** The length the server announced; a body of another length fails as truncated. */
  expectedBytes?: number;
  /** No bytes for this long while the reader waits: `TransientError`. 0 turns it off. */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
  /** Turns the source's errors into core's; the guard makes sure the result is typed. */
  translate?: (error: unknown) => Error;
  /** Called once when the body settles: its byte count and the error, if any. */
  onSettled?: (received: number, error?: Error) => void;
  highWaterMark?: number;
}

export function guardBody(source: Readable, options: GuardBodyOptions): Readable {
  const { what, expectedBytes, signal } = options;
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const out = new PassThrough({ highWaterMark: options.highWaterMark ?? 1024 * 1024 });
  let received = 0;
  let settled = false;

  const settle = (error?: Error) => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    options.onSettled?.(received, error);
    if (error) {
      out.destroy(error);
      if (!source.destroyed) source.destroy();
    } else out.end();
  };

  const typed = (error: unknown): Error => {
    const translated = options.translate ? options.translate(error) : error;
    if (translated instanceof DefstateError) return translated;
    const reason = transientReason(error);
    if (reason !== undefined) {
      return new TransientError(`The download of ${what} broke off (${reason}).`, {
        cause: error,
        hint: 'The connection failed mid-transfer; defstate retries it.',
      });
    }
    return new StorageError(`The download of ${what} failed: ${(error as Error)?.message}`, {
      cause: error,
    });
  };

  const timer =
    stallMs > 0
      ? setTimeout(function stalled() {
          // Bytes waiting in our buffer mean the reader is the slow side, not the network: wait,
          // without holding the process open for a reader that may have gone.
          if (out.readableLength > 0 || out.writableLength > 0 || source.isPaused()) {
            timer?.unref();
            timer?.refresh();
            return;
          }
          settle(
            new TransientError(
              `The download of ${what} stalled: no data for ${stallMs / 1000} s after ${received} bytes.`,
              { hint: 'The connection may have dropped; defstate retries it.' },
            ),
          );
        }, stallMs)
      : undefined;

  const onAbort = () =>
    settle(new AbortedError(`The download of ${what} was cancelled.`, { cause: signal?.reason }));
  if (signal?.aborted) {
    queueMicrotask(onAbort);
  } else signal?.addEventListener('abort', onAbort, { once: true });

  source.on('data', (chunk: Buffer | string) => {
    if (settled) return;
    received += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    timer?.ref();
    timer?.refresh();
    if (!out.write(chunk)) source.pause();
  });
  out.on('drain', () => {
    timer?.ref();
    timer?.refresh();
    source.resume();
  });
  finished(source, (error) => {
    if (settled) return;
    if (error) return settle(typed(error));
    if (expectedBytes !== undefined && received < expectedBytes) {
      return settle(
        new TransientError(
          `The download of ${what} ended after ${received} of ${expectedBytes} bytes.`,
          { hint: 'The connection was cut short; defstate retries it.' },
        ),
      );
    }
    if (expectedBytes !== undefined && received > expectedBytes) {
      // More than announced: the object changed under the read, or the store miscounts.
      return settle(
        new TransientError(
          `The download of ${what} had ${received} bytes where ${expectedBytes} were announced.`,
          { hint: 'The object may have been replaced while it was read; defstate reads it again.' },
        ),
      );
    }
    settle();
  });
  // The reader destroyed the body (stopped early, or failed): release the source and its socket.
  out.once('close', () => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (!source.destroyed) source.destroy();
  });
  return out;
}
