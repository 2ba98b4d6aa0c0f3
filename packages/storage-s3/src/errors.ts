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
import { isCredentialProviderTimeout, systemCodeOf, transientReason } from '@defstate/core/adapter';
import { CREDENTIALS_HINT } from './client.js';

/**
 * Translates whatever the AWS SDK (or the socket under it) throws into core's typed errors, so
 * nothing above the adapter sees an SDK error. It reads the SDK's error shape by duck typing, so
 * this file does not load the SDK.
 */

export type S3Operation =
  | 'get'
  | 'head'
  | 'put'
  | 'list'
  | 'delete'
  | 'check bucket'
  | 'remove abandoned uploads';

export interface ErrorContext {
  operation: S3Operation;
  /** The object name (relative to the store's prefix), or the list prefix. */
  name: string;
  bucket: string;
  /** `s3://bucket/prefix`, for messages. */
  location: string;
  credentialSource: string;
  /** The put carried `If-Match`: S3 answers 404 when the object is gone, which is a lost race. */
  ifMatch?: boolean;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const PRECONDITION_CODES = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

const ACCESS_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AccountProblem',
  'InvalidSecurity',
  'Forbidden',
  'Unauthorized',
  'CredentialsProviderError',
]);

const TRANSIENT_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'BandwidthLimitExceeded',
  'TimeoutError',
  'NetworkingError',
]);

export function translateS3Error(error: unknown, context: ErrorContext): DefstateError {
  if (error instanceof DefstateError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  const code = shape.Code ?? shape.name ?? 'Error';
  const socketCode = systemCodeOf(error);
  const { operation, name, bucket, location } = context;
  const what = `S3 ${operation} of "${name}" in ${location}`;

  if (code === 'AbortError') {
    return new AbortedError(`${what} was cancelled.`, { cause: error });
  }
  if (code === 'NoSuchBucket') return bucketMissing(bucket, location, error);
  if (PRECONDITION_CODES.has(code) || status === 412) {
    return new PreconditionFailedError(name, { cause: error });
  }
  // Replace-if-match of an object that is gone: S3 answers 404 NoSuchKey, not 412.
  if (context.ifMatch && (code === 'NoSuchKey' || status === 404)) {
    return new PreconditionFailedError(name, { cause: error });
  }
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) {
    return new BlobNotFoundError(name, { cause: error });
  }
  // Instance metadata that answers late is not a refusal: a moment later it gives credentials.
  if (isCredentialProviderTimeout(error)) {
    return new TransientError(
      `${what} failed: ${context.credentialSource} did not answer in time (instance metadata time-out).`,
      { cause: error, hint: CREDENTIALS_HINT },
    );
  }
  if (ACCESS_CODES.has(code) || status === 401 || status === 403) {
    const reason =
      code === 'CredentialsProviderError'
        ? 'no credentials could be loaded from'
        : `access was refused (${code}) for`;
    return new AccessDeniedError(`${what} failed: ${reason} ${context.credentialSource}.`, {
      cause: error,
      hint: CREDENTIALS_HINT,
    });
  }
  const transient = transientReason(error);
  if (TRANSIENT_CODES.has(code) || transient !== undefined || shape.$retryable !== undefined) {
    const why = socketCode ?? (status ? `HTTP ${status} ${code}` : code);
    return new TransientError(`${what} failed for now (${why}); it is worth retrying.`, {
      cause: error,
      hint: 'S3 is throttling, busy or unreachable; defstate retries with backoff. If it persists, check the endpoint and the network.',
    });
  }
  return new StorageError(`${what} failed: ${code}${describeStatus(status)}.`, {
    cause: error,
    hint: 'Check the bucket, region and endpoint settings.',
  });
}

export function bucketMissing(bucket: string, location: string, cause?: unknown) {
  return new StoreNotFoundError(`The S3 bucket "${bucket}" does not exist (${location}).`, {
    cause,
    hint: `Create the bucket (aws s3 mb s3://${bucket}), or fix \`bucket\`, \`region\` and \`endpoint\` in defstate.yaml or the storage URL.`,
  });
}

function describeStatus(status: number | undefined): string {
  return status === undefined ? '' : ` (HTTP ${status})`;
}
