import {
  AbortedError,
  AccessDeniedError,
  DefstateError,
  PreconditionFailedError,
  StorageError,
  StoreNotFoundError,
  TransientError,
} from '@defstate/core';
import { causeChain, isCredentialProviderTimeout, transientReason } from '@defstate/core/adapter';

/**
 * Translates whatever the SDK (or the network under it) threw into core's typed errors, so nothing
 * above the adapter sees an SDK error. Errors come in three shapes: `ApiError` (JSON API answers:
 * numeric `code` = HTTP status, `errors[0].reason`), `GaxiosError` (resumable uploads, auth:
 * `status` / `response.status`) and Node network errors (`code: 'ECONNRESET'`, …), sometimes
 * wrapped in one another.
 *
 * Credentials are never quoted: auth-library messages can echo a key file's contents (a JSON parse
 * error shows the text it choked on), so for auth failures only the HTTP status, the server's
 * reason token and the Node error code reach the message, and the `cause` is a sanitized copy.
 */

export interface ErrorScope {
  /** `get`, `put`, … for messages. */
  operation: string;
  /** `gs://bucket/prefix/name`, for messages. */
  where: string;
  /** Object name as the caller gave it (for BlobNotFoundError / PreconditionFailedError). */
  name: string;
  bucket: string;
  /** Which credentials were used, in words (see client.ts). */
  credentials: string;
}

// What google-auth-library throws when it cannot find or use credentials (no HTTP status of
// Cloud Storage's own). Matched on the message only to classify; the message is never shown.
const CREDENTIAL_FAILURE =
  /default credentials|invalid_grant|invalid_client|unauthorized_client|access token|refresh token|key ?file|private key|client_email|DECODER routines|external_account|subject token|credential/i;

interface ErrorFacts {
  status: number | undefined;
  reason: string | undefined;
  code: string | undefined;
  message: string;
}

/** Status, reason and network code, looked for across the error and its causes. */
export function errorFacts(error: unknown): ErrorFacts {
  const facts: ErrorFacts = { status: undefined, reason: undefined, code: undefined, message: '' };
  for (const link of causeChain(error)) {
    const value = link as {
      code?: unknown;
      status?: unknown;
      statusCode?: unknown;
      response?: { status?: unknown };
      errors?: Array<{ reason?: unknown }>;
      message?: unknown;
      cause?: unknown;
      error?: unknown;
    };
    const status = [value.code, value.status, value.statusCode, value.response?.status].find(
      (candidate) => typeof candidate === 'number' && candidate >= 100 && candidate < 600,
    ) as number | undefined;
    facts.status ??= status;
    if (typeof value.code === 'string') facts.code ??= value.code;
    const reason = Array.isArray(value.errors) ? value.errors[0]?.reason : undefined;
    if (typeof reason === 'string') facts.reason ??= reason;
    if (!facts.message && typeof value.message === 'string') facts.message = value.message;
  }
  // Resumable-upload failures are plain Gaxios errors: "Request failed with status code 404".
  if (facts.status === undefined) {
    const match = /status code (\d{3})/.exec(facts.message);
    if (match) facts.status = Number(match[1]);
  }
  return facts;
}

export function isNotFound(error: unknown): boolean {
  return errorFacts(error).status === 404;
}

export function isPreconditionFailed(error: unknown): boolean {
  return errorFacts(error).status === 412;
}

/** Whether the failure is about credentials (not HTTP 401/403, which `translate` also maps). */
export function isCredentialFailure(error: unknown): boolean {
  const { status, message } = errorFacts(error);
  return status === undefined || status === 400 || status === 401
    ? CREDENTIAL_FAILURE.test(message)
    : false;
}

export function accessDenied(scope: ErrorScope, error: unknown, detail: string): AccessDeniedError {
  return new AccessDeniedError(
    `Google Cloud Storage refused ${scope.operation} on ${scope.where} (${detail}); credentials tried: ${scope.credentials}.`,
    {
      cause: sanitized(error),
      hint: `Sign in with \`gcloud auth application-default login\`, or set GOOGLE_APPLICATION_CREDENTIALS (or the keyFilename option) to a service-account key file, or run with a workload identity; the identity needs storage.objects.create/get/list/delete on bucket "${scope.bucket}" (e.g. roles/storage.objectUser).`,
    },
  );
}

export function storeNotFound(scope: ErrorScope, error: unknown): StoreNotFoundError {
  return new StoreNotFoundError(`The GCS bucket "${scope.bucket}" does not exist.`, {
    cause: sanitized(error),
    hint: `Create it (\`gcloud storage buckets create gs://${scope.bucket}\`) or fix state_storage.options.bucket; check the project and apiEndpoint too.`,
  });
}

/** Core's typed error for any failure of a GCS call. 404s are resolved by the store first. */
export function translate(error: unknown, scope: ErrorScope, signal?: AbortSignal): DefstateError {
  if (error instanceof DefstateError) return error;
  if (signal?.aborted || (error as Error | undefined)?.name === 'AbortError') {
    return new AbortedError(`${scope.operation} of ${scope.where} was cancelled.`, {
      cause: signal?.reason ?? error,
    });
  }
  const facts = errorFacts(error);
  const detail = [
    facts.status && `HTTP ${facts.status}`,
    facts.reason,
    facts.status === undefined && facts.code,
  ]
    .filter(Boolean)
    .join(' ');
  if (facts.status === 412) return new PreconditionFailedError(scope.name, { cause: error });
  // A metadata server or token endpoint that answers late is not a refusal: retry it.
  if (isCredentialProviderTimeout(error)) {
    return new TransientError(
      `Getting credentials for ${scope.operation} on ${scope.where} timed out; credentials tried: ${scope.credentials}.`,
      {
        cause: sanitized(error),
        hint: 'The metadata server or token endpoint did not answer in time; defstate retries. If it persists, check the network, or sign in with `gcloud auth application-default login`.',
      },
    );
  }
  if (facts.status === 401 || facts.status === 403 || isCredentialFailure(error)) {
    return accessDenied(scope, error, detail || 'could not get credentials');
  }
  const transient = transientReason(error);
  if (transient !== undefined) {
    return new TransientError(
      `Google Cloud Storage failed ${scope.operation} on ${scope.where} (${detail || transient}); it may succeed on retry.`,
      { cause: error, hint: 'Check the network and the GCS status page if it keeps failing.' },
    );
  }
  return new StorageError(
    `Google Cloud Storage failed ${scope.operation} on ${scope.where}: ${detail || facts.message || String(error)}.`,
    { cause: error },
  );
}

/** The error without request configs, headers or bodies, which may hold tokens. */
function sanitized(error: unknown): Error {
  const facts = errorFacts(error);
  const copy = new Error(
    `${(error as Error | undefined)?.name ?? 'Error'}${facts.status ? ` (HTTP ${facts.status})` : ''}${facts.reason ? ` ${facts.reason}` : ''}${facts.code ? ` ${facts.code}` : ''}`,
  );
  return Object.assign(copy, { status: facts.status, reason: facts.reason, code: facts.code });
}
