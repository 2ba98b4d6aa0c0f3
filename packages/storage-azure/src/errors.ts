import {
  AbortedError,
  AccessDeniedError,
  BlobNotFoundError,
  DefstateError,
  PreconditionFailedError,
  StorageError,
  StoreNotFoundError,
  TransientError,
} from '@defstate/core';
import {
  isCredentialProviderTimeout,
  redactSecrets,
  systemCodeOf,
  transientReason,
} from '@defstate/core/adapter';
import type { CredentialSource } from './client.js';

/**
 * Error mapping: every failure the Azure SDK, @azure/identity or the network can raise becomes one
 * of core's typed errors, so nothing above the adapter ever sees an SDK error. The service's own
 * error code (`x-ms-error-code`) decides where it can; HEAD answers have no body, so the SDK puts
 * the code only in `details.errorCode` for them.
 */

/** What the store knows about itself when it reports an error; holds no secret. */
export interface ErrorScope {
  location: string;
  account: string;
  container: string;
  credentials: CredentialSource;
}

interface AzureErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  details?: { errorCode?: string };
  message?: string;
}

// Error codes Azure documents as "retry later": throttling, timeouts and server faults.
const TRANSIENT_CODES = new Set([
  'ServerBusy',
  'OperationTimedOut',
  'InternalError',
  'ServiceUnavailable',
  'IngressOverAccountLimit',
  'EgressOverAccountLimit',
  'TpsOverAccountLimit',
]);

// Besides core's network failure codes: a host name that does not resolve (yet), and the SDK's
// own code for a request that could not be sent.
const AZURE_NETWORK_CODES = new Set(['ENOTFOUND', 'REQUEST_SEND_ERROR']);

const IDENTITY_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/**
 * Translates a thrown value. `objectKey` is the store-relative name the operation was about
 * (absent for listing), so `BlobNotFoundError` and `PreconditionFailedError` name what callers
 * asked for, not the prefixed blob name.
 */
export function translateAzureError(
  error: unknown,
  scope: ErrorScope,
  objectKey?: string,
  signal?: AbortSignal,
): Error {
  if (error instanceof DefstateError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as AzureErrorShape;
  const status = shape.statusCode;
  const code = shape.code ?? shape.details?.errorCode;
  const what = objectKey === undefined ? scope.location : `"${objectKey}" in ${scope.location}`;
  const label = [status, code].filter((part) => part !== undefined).join(' ');

  // The SDK's resumable download gives up on a body that keeps breaking off with a plain Error,
  // and this message is its only mark: the connection failed, so it is worth another try.
  if (shape.message?.startsWith('Data corruption failure: received less data')) {
    return new TransientError(`The download of ${what} kept breaking off before its end.`, {
      cause: error,
      hint: 'Check the network between this machine and the storage account.',
    });
  }
  if (shape.name === 'AbortError') {
    if (signal?.aborted) {
      return new AbortedError(`Azure Blob request for ${what} was cancelled.`, { cause: error });
    }
    // Nobody cancelled: the SDK also reports a response the server cut off as an AbortError.
    return new TransientError(
      `The connection to ${scope.location} broke off while reading ${what}.`,
      {
        cause: error,
        hint: 'Check the network between this machine and the storage account.',
      },
    );
  }
  // A managed-identity or token endpoint that answers late is not a refusal: retry it.
  if (isCredentialProviderTimeout(error)) {
    return new TransientError(
      `Getting Azure credentials for ${scope.location} timed out: ${scope.credentials.description} did not answer in time.`,
      { cause: error, hint: scope.credentials.hint },
    );
  }
  if (shape.name !== undefined && IDENTITY_ERRORS.has(shape.name)) {
    return new AccessDeniedError(
      `No Azure credentials for ${scope.location}: ${scope.credentials.description} could not get a token.`,
      { cause: error, hint: scope.credentials.hint },
    );
  }
  if (code === 'ContainerNotFound' || code === 'ContainerBeingDeleted') {
    return new StoreNotFoundError(
      `The Azure Blob container "${scope.container}" does not exist in storage account "${scope.account}" (${scope.location}).`,
      {
        cause: error,
        hint: `Create it (az storage container create --name ${scope.container} --account-name ${scope.account}), or fix state_storage.options.container.`,
      },
    );
  }
  if (status === 404 && objectKey !== undefined) {
    return new BlobNotFoundError(objectKey, { cause: error });
  }
  if (
    (status === 412 || code === 'ConditionNotMet' || code === 'BlobAlreadyExists') &&
    objectKey !== undefined
  ) {
    return new PreconditionFailedError(objectKey, { cause: error });
  }
  if (status === 401 || status === 403) {
    const denied =
      code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationFailure'
        ? 'refused the credentials or their permissions'
        : 'refused the request';
    return new AccessDeniedError(
      `Azure Blob Storage ${denied} for ${what} (${label}); tried ${scope.credentials.description}.`,
      { cause: error, hint: scope.credentials.hint },
    );
  }
  if (
    transientReason(error) !== undefined ||
    (code !== undefined && (TRANSIENT_CODES.has(code) || AZURE_NETWORK_CODES.has(code))) ||
    isCutOffAnswer(shape)
  ) {
    if (status === undefined) {
      const why = code ?? systemCodeOf(error) ?? transientReason(error);
      return new TransientError(`Azure Blob Storage could not reach ${scope.location} (${why}).`, {
        cause: error,
        hint: 'Check the network and the endpoint (accountUrl, or the connection string’s BlobEndpoint). defstate retries network faults with backoff before it reports one.',
      });
    }
    return new TransientError(
      `Azure Blob Storage answered ${label} for ${what}: ${firstLine(shape.message)}`,
      {
        cause: error,
        hint: 'The service is throttling or failing. defstate retries these with backoff before it reports one, so the account is overloaded or unhealthy: try again later, or check the Azure status page.',
      },
    );
  }
  return new StorageError(
    `Azure Blob Storage failed on ${what}${label ? ` (${label})` : ''}: ${firstLine(shape.message)}`,
    { cause: error },
  );
}

/**
 * The SDK reads a (non-streamed) answer whole and reports a connection that broke off in the
 * middle as PARSE_ERROR "Error reading response as text: aborted", without the socket error.
 */
function isCutOffAnswer(shape: AzureErrorShape): boolean {
  return shape.code === 'PARSE_ERROR' && /reading response/i.test(shape.message ?? '');
}

/**
 * The service's message without its request-id/time lines, and with anything that looks like a
 * signature or key taken out: an SDK message may quote a URL, and a SAS URL carries its secret.
 */
export function firstLine(message: string | undefined): string {
  const line = (message || 'the service gave no details').split('\n')[0] ?? '';
  return redactSecrets(line);
}
