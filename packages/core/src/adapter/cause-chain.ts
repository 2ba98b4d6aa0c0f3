/**
 * Errors reach an adapter wrapped in one another: an SDK error around a socket error, a gaxios
 * error around a node-fetch error. Everything that asks "is there a reset / a status / a code in
 * here?" walks the chain the same way, through `cause` and the `error` field some SDKs use, and
 * stops on a loop.
 */

/** The error and each error it wraps, outermost first; non-objects end the walk. */
export function* causeChain(error: unknown): Generator<object> {
  const seen = new Set<unknown>();
  for (let current = error; typeof current === 'object' && current !== null; ) {
    if (seen.has(current)) return;
    seen.add(current);
    yield current;
    const { cause, error: inner } = current as { cause?: unknown; error?: unknown };
    current = cause ?? (inner instanceof Error ? inner : undefined);
  }
}

/** The first link of the chain for which `predicate` holds. */
export function findCause<T extends object = object>(
  error: unknown,
  predicate: (link: object) => boolean,
): T | undefined {
  for (const link of causeChain(error)) if (predicate(link)) return link as T;
  return undefined;
}

const SYSTEM_CODE = /^(E[A-Z0-9_]+|UND_ERR_[A-Z_]+|ERR_[A-Z0-9_]+)$/;

/** The Node or undici error code (`ECONNRESET`, `UND_ERR_SOCKET`) anywhere along the chain. */
export function systemCodeOf(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    const { code, errno } = link as { code?: unknown; errno?: unknown };
    if (typeof code === 'string' && SYSTEM_CODE.test(code)) return code;
    if (typeof errno === 'string' && SYSTEM_CODE.test(errno)) return errno;
  }
  return undefined;
}

/**
 * The HTTP status anywhere along the chain, as HTTP clients report it: `status`, `statusCode`,
 * `$metadata.httpStatusCode` (AWS), `response.status` (gaxios), or a numeric `code` (GCS).
 */
export function httpStatusOf(error: unknown): number | undefined {
  for (const link of causeChain(error)) {
    const value = link as {
      status?: unknown;
      statusCode?: unknown;
      code?: unknown;
      $metadata?: { httpStatusCode?: unknown };
      response?: { status?: unknown };
    };
    for (const candidate of [
      value.$metadata?.httpStatusCode,
      value.statusCode,
      value.status,
      value.response?.status,
      value.code,
    ]) {
      if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
    }
  }
  return undefined;
}
