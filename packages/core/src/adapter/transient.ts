import { DefstateError, isNetworkFailureCode } from '../errors.js';
import { causeChain, httpStatusOf, systemCodeOf } from './cause-chain.js';

/**
 * The one answer to "is this failure worth another try?" for adapters, so the three cloud
 * adapters and the file store classify a reset, a 503 or a cut-off body the same way. Adapters
 * first map what only their SDK knows (a conditional write that lost, a missing bucket), then ask
 * here, and turn a yes into `TransientError`, which core retries with backoff.
 */

/** Throttling and server faults. 408 is the server giving up waiting for the request. */
const TRANSIENT_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

// Names SDKs give to a request that timed out on the client side (smithy's `TimeoutError`,
// node-fetch's `FetchError` with type `request-timeout`) or a body the server cut off.
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const FETCH_TIMEOUT_TYPES = new Set(['request-timeout', 'body-timeout']);

// Errors of credential providers (AWS's chain and instance metadata, @azure/identity, Google's
// auth library and metadata server). They are usually "no credentials here", which retrying does
// not fix, except when the provider timed out or its connection broke: instance metadata under
// load answers late, and a retry a moment later gets the credentials.
const CREDENTIAL_PROVIDER_NAMES = new Set([
  'ProviderError',
  'CredentialsProviderError',
  'TokenProviderError',
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'GaxiosError',
  'FetchError',
]);
const CREDENTIAL_PROVIDER_MESSAGE =
  /instance metadata|metadata service|metadata server|IMDS|credential|token|managed ?identity|compute engine|gce/i;
const TIMEOUT_MESSAGE =
  /time[ -]?d? ?out|TimeoutError|ETIMEDOUT|ECONNRESET|socket hang up|network timeout/i;

/**
 * Whether the error (or anything it wraps) says a credential provider timed out, e.g. AWS's
 * "TimeoutError from instance metadata service". Such a failure is transient, not a refusal.
 */
export function isCredentialProviderTimeout(error: unknown): boolean {
  for (const link of causeChain(error)) {
    const { name, message } = link as { name?: unknown; message?: unknown };
    if (typeof message !== 'string') continue;
    const provider =
      (typeof name === 'string' && CREDENTIAL_PROVIDER_NAMES.has(name)) ||
      CREDENTIAL_PROVIDER_MESSAGE.test(message);
    if (provider && CREDENTIAL_PROVIDER_MESSAGE.test(message) && TIMEOUT_MESSAGE.test(message)) {
      return true;
    }
  }
  return false;
}

/**
 * Why the failure is transient, in a few words for a message (`ECONNRESET`, `HTTP 503`,
 * `truncated body`, `credential provider timed out`), or `undefined` when it is not. A
 * `DefstateError` in the chain decides by its own `retryable`.
 */
export function transientReason(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    if (link instanceof DefstateError) return link.retryable ? link.code : undefined;
    const { name, type, code } = link as { name?: unknown; type?: unknown; code?: unknown };
    if (typeof code === 'string' && isNetworkFailureCode(code)) {
      return code === 'ERR_STREAM_PREMATURE_CLOSE' ? 'connection closed early' : code;
    }
    if (typeof name === 'string' && TIMEOUT_NAMES.has(name)) return 'timed out';
    if (typeof type === 'string' && FETCH_TIMEOUT_TYPES.has(type)) return 'timed out';
  }
  const code = systemCodeOf(error);
  if (code !== undefined && isNetworkFailureCode(code)) return code;
  const status = httpStatusOf(error);
  if (status !== undefined && TRANSIENT_STATUS(status)) return `HTTP ${status}`;
  if (isCredentialProviderTimeout(error)) return 'credential provider timed out';
  return undefined;
}

/** Whether retrying the same operation may succeed. */
export function isTransientFailure(error: unknown): boolean {
  return transientReason(error) !== undefined;
}
