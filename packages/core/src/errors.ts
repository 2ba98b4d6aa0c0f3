/**
 * Every failure defstate reports is a `DefstateError`: a stable `code` for machines, a message for
 * people that ends with what to check next, and the underlying `cause`. Adapters translate their
 * SDK's errors into these classes so nothing above them ever sees an SDK error.
 */

export type DefstateErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'KEY_INVALID'
  | 'STATE_NOT_FOUND'
  | 'BLOB_NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'ACCESS_DENIED'
  | 'STORE_NOT_FOUND'
  | 'TRANSIENT'
  | 'CONFLICT'
  | 'INTEGRITY'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'REFRESH_FAILED'
  | 'LEASE'
  | 'STORAGE';

export interface DefstateErrorOptions {
  cause?: unknown;
  /** What the user should check or do next; appended to the message. */
  hint?: string;
}

/**
 * Marks errors from any copy of this package. A CLI or Action that bundles its own core still
 * gets adapters' errors from the copy installed in the user's project, and must recognise them.
 */
const BRAND: unique symbol = Symbol.for('defstate.error');

export class DefstateError extends Error {
  /** The code every error of this class has; `undefined` here, where any code goes. */
  static readonly errorCode: DefstateErrorCode | undefined = undefined;

  /**
   * `instanceof` that also holds across copies of @defstate/core: an error from another copy is
   * an instance of a class here when it carries the brand and the class's code.
   */
  static [Symbol.hasInstance](instance: unknown): boolean {
    // `this` is the class on the right of `instanceof`: this one or a subclass.
    // biome-ignore lint/complexity/noThisInStatic: the class asked about, a subclass included.
    if (Function.prototype[Symbol.hasInstance].call(this, instance)) return true;
    if (typeof instance !== 'object' || instance === null || !(BRAND in instance)) return false;
    // biome-ignore lint/complexity/noThisInStatic: as above.
    const { errorCode } = this as unknown as { errorCode: DefstateErrorCode | undefined };
    return errorCode === undefined || (instance as { code?: unknown }).code === errorCode;
  }

  readonly [BRAND] = true;
  readonly code: DefstateErrorCode;
  readonly hint: string | undefined;
  /** Whether retrying the same operation may succeed. */
  readonly retryable: boolean = false;

  constructor(code: DefstateErrorCode, message: string, options: DefstateErrorOptions = {}) {
    super(options.hint ? `${message}\n  → ${options.hint}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** A config file or value is wrong. `file`, `line` and `field` say where. */
export class ConfigError extends DefstateError {
  static override readonly errorCode = 'CONFIG_INVALID' as const;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly line: number | undefined;

  constructor(
    message: string,
    where: { file?: string; field?: string; line?: number } = {},
    options: DefstateErrorOptions = {},
  ) {
    const place = [
      where.file && (where.line ? `${where.file}:${where.line}` : where.file),
      where.field && `at ${where.field}`,
    ]
      .filter(Boolean)
      .join(' ');
    super('CONFIG_INVALID', place ? `${place}: ${message}` : message, options);
    this.file = where.file;
    this.field = where.field;
    this.line = where.line;
  }
}

/** The command was called with arguments that cannot work (unknown key, bad flag value). */
export class UsageError extends DefstateError {
  static override readonly errorCode = 'USAGE' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('USAGE', message, options);
  }
}

/** A state key breaks the key rules. */
export class InvalidKeyError extends DefstateError {
  static override readonly errorCode = 'KEY_INVALID' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('KEY_INVALID', message, options);
  }
}

/** No state exists for a key (never refreshed, or not in this store). */
export class StateNotFoundError extends DefstateError {
  static override readonly errorCode = 'STATE_NOT_FOUND' as const;
  readonly key: string;
  constructor(key: string, message: string, options: DefstateErrorOptions = {}) {
    super('STATE_NOT_FOUND', message, options);
    this.key = key;
  }
}

/** A store object does not exist. Raised by `BlobStore` implementations. */
export class BlobNotFoundError extends DefstateError {
  static override readonly errorCode = 'BLOB_NOT_FOUND' as const;
  readonly objectKey: string;
  constructor(objectKey: string, options: DefstateErrorOptions = {}) {
    super('BLOB_NOT_FOUND', `Object "${objectKey}" does not exist.`, options);
    this.objectKey = objectKey;
  }
}

/**
 * A conditional write lost: the object already existed (create-only) or changed since it was read
 * (replace-if-match). Core's compare-and-swap re-reads and retries on this error.
 */
export class PreconditionFailedError extends DefstateError {
  static override readonly errorCode = 'PRECONDITION_FAILED' as const;
  readonly objectKey: string;
  constructor(objectKey: string, options: DefstateErrorOptions = {}) {
    super('PRECONDITION_FAILED', `A conditional write to "${objectKey}" did not apply.`, options);
    this.objectKey = objectKey;
  }
}

/** Credentials are missing, wrong or lack permission. */
export class AccessDeniedError extends DefstateError {
  static override readonly errorCode = 'ACCESS_DENIED' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('ACCESS_DENIED', message, options);
  }
}

/** The bucket, container or root folder does not exist. */
export class StoreNotFoundError extends DefstateError {
  static override readonly errorCode = 'STORE_NOT_FOUND' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('STORE_NOT_FOUND', message, options);
  }
}

/** Throttling, 5xx, connection resets: worth retrying with backoff. */
export class TransientError extends DefstateError {
  static override readonly errorCode = 'TRANSIENT' as const;
  override readonly retryable = true;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('TRANSIENT', message, options);
  }
}

/** Any other storage failure that retrying will not fix. */
export class StorageError extends DefstateError {
  static override readonly errorCode = 'STORAGE' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('STORAGE', message, options);
  }
}

/** Compare-and-swap kept losing to concurrent writers until its attempts ran out. */
export class ConflictError extends DefstateError {
  static override readonly errorCode = 'CONFLICT' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('CONFLICT', message, options);
  }
}

/** Downloaded or stored bytes do not match their recorded sha256 or size. */
export class IntegrityError extends DefstateError {
  static override readonly errorCode = 'INTEGRITY' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('INTEGRITY', message, options);
  }
}

export class TimeoutError extends DefstateError {
  static override readonly errorCode = 'TIMEOUT' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('TIMEOUT', message, options);
  }
}

export class AbortedError extends DefstateError {
  static override readonly errorCode = 'ABORTED' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('ABORTED', message, options);
  }
}

/** A component's own refresh function failed. */
export class RefreshFailedError extends DefstateError {
  static override readonly errorCode = 'REFRESH_FAILED' as const;
  readonly key: string;
  constructor(key: string, message: string, options: DefstateErrorOptions = {}) {
    super('REFRESH_FAILED', message, options);
    this.key = key;
  }
}

/**
 * The store-wide maintenance lease is held by another process past the wait, or was lost by this
 * one (its heartbeat stopped landing), so the maintenance stopped before changing anything more.
 */
export class LeaseError extends DefstateError {
  static override readonly errorCode = 'LEASE' as const;
  constructor(message: string, options: DefstateErrorOptions = {}) {
    super('LEASE', message, options);
  }
}

const NETWORK_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  // Refused connections are retried too: a store or proxy restarting refuses for a moment.
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Whether a Node or undici error code means the connection failed or broke, so the same request
 * may well succeed in a moment. Adapters use it to turn such errors into `TransientError`.
 */
export function isNetworkFailureCode(code: string | undefined): boolean {
  return code !== undefined && NETWORK_FAILURE_CODES.has(code);
}

/**
 * Whether an error is worth retrying: defstate's own retryable errors, network resets and
 * timeouts by their Node code, and HTTP 429/5xx by a `status`/`statusCode` field, which is how
 * most HTTP clients a component might use report them.
 */
export function isTransient(error: unknown): boolean {
  // Walk the cause chain once; a chain that loops back (a.cause = b, b.cause = a) ends the walk.
  const seen = new Set<unknown>();
  for (let current = error; !seen.has(current); current = (current as { cause?: unknown }).cause) {
    if (current instanceof DefstateError) return current.retryable;
    if (typeof current !== 'object' || current === null) return false;
    seen.add(current);
    const { code, status, statusCode } = current as {
      code?: unknown;
      status?: unknown;
      statusCode?: unknown;
    };
    if (typeof code === 'string' && isNetworkFailureCode(code)) return true;
    const httpStatus = typeof status === 'number' ? status : statusCode;
    if (typeof httpStatus === 'number' && (httpStatus === 429 || httpStatus >= 500)) return true;
  }
  return false;
}

/** A one-line description of any thrown value, for logs and reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
