/**
 * A signal that aborts `graceMs` after `signal` does: for work that should still finish after an
 * interruption, if it can do so quickly (committing what is already uploaded), but not hang.
 */
export function abortAfterGrace(
  signal: AbortSignal | undefined,
  graceMs: number,
): AbortSignal | undefined {
  if (!signal) return undefined;
  const controller = new AbortController();
  const later = () => setTimeout(() => controller.abort(signal.reason), graceMs).unref();
  if (signal.aborted) later();
  else signal.addEventListener('abort', later, { once: true });
  return controller.signal;
}
