import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '@defstate/core';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '@defstate/core/adapter';
import type { S3StoreOptions } from './options.js';

/** The SDK module, loaded on first use so that importing the adapter costs nothing. */
export interface S3Sdk {
  s3: typeof import('@aws-sdk/client-s3');
}

export interface S3Connection {
  sdk: S3Sdk;
  client: S3Client;
  /** Which credentials the client uses, for messages. Never a secret. */
  credentialSource: string;
  /** Where requests go: the configured endpoint, or AWS's regional one. Never a secret. */
  endpoint: string;
}

/**
 * Opens an S3 client on the AWS default credential chain (env, shared config and credentials
 * files, SSO, web identity / GitHub OIDC, container and instance metadata), or on one named
 * profile of it. defstate never reads or stores a secret itself.
 */
export async function connect(
  options: S3StoreOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<S3Connection> {
  const [s3, { defaultProvider }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/credential-provider-node'),
  ]);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const client = new s3.S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    profile: options.profile,
    // SDK retries are off: core retries every TransientError with exponential backoff and jitter,
    // so a second layer would only multiply attempts and delays. It would also be wrong for
    // conditional writes: a create-only put whose response was lost and that the SDK resent
    // would come back 412, turning our own success into a failure.
    maxAttempts: 1,
    // Checksums only where S3 requires them. The SDK's default streams every upload with an
    // aws-chunked CRC32 trailer, which S3-compatible stores (and moto) handle unevenly; integrity
    // is core's anyway: every version is hashed before upload and verified on download.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A connection that goes silent (a stalled proxy or server) fails as a TimeoutError, which
    // is transient, instead of hanging the refresh forever.
    requestHandler: {
      connectionTimeout: Math.min(10_000, timeoutMs),
      socketTimeout: timeoutMs,
    },
    // The SDK's own default chain, with instance-metadata time-outs told apart from "no
    // credentials" (see noticeMetadataTimeouts).
    credentialDefaultProvider: (input: Parameters<typeof defaultProvider>[0]) =>
      noticeMetadataTimeouts(defaultProvider(input), env),
    logger: QUIET_LOGGER,
  });
  const credentialSource = describeCredentialSource(options, env);
  let region: string;
  try {
    region = await client.config.region();
  } catch (error) {
    client.destroy();
    throw new ConfigError(
      'no AWS region is set for the S3 store',
      { field: 'state_storage.options.region' },
      {
        cause: error,
        hint: 'Set `region` in defstate.yaml (or ?region= in the storage URL), AWS_REGION, or a region in the AWS profile.',
      },
    );
  }
  return {
    sdk: { s3 },
    client,
    credentialSource,
    endpoint: endpointOf(options.endpoint, region),
  };
}

/** The configured endpoint without userinfo or query, or AWS's regional endpoint. */
export function endpointOf(configured: string | undefined, region: string): string {
  if (configured === undefined) return `https://s3.${region}.amazonaws.com`;
  const url = new URL(configured);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}

/** How long the SDK waits for instance metadata, per request (its default is 1 s). */
function metadataTimeoutMs(env: NodeJS.ProcessEnv): number {
  const configured = Number(env.AWS_METADATA_SERVICE_TIMEOUT);
  return Number.isFinite(configured) && configured > 0 ? configured * 1000 : 1000;
}

/**
 * The default chain ends with instance (or container) metadata, and when every link fails it
 * reports "Could not load credentials from any providers", dropping why the metadata link failed.
 * Every other link fails at once (they read the environment and local files), so a chain that
 * failed only after the metadata time-out had passed failed because metadata did not answer in
 * time, which on a busy instance passes in a moment: report that, so it is retried as transient
 * instead of being refused as missing credentials.
 */
function noticeMetadataTimeouts<T extends (...args: never[]) => Promise<unknown>>(
  provider: T,
  env: NodeJS.ProcessEnv,
): T {
  const limit = metadataTimeoutMs(env);
  const disabled = /^(true|1)$/i.test(env.AWS_EC2_METADATA_DISABLED ?? '');
  return (async (...args: Parameters<T>) => {
    const started = performance.now();
    try {
      return await provider(...args);
    } catch (error) {
      const noCredentials =
        (error as { name?: string }).name === 'CredentialsProviderError' &&
        /Could not load credentials from any providers/.test((error as Error).message);
      if (noCredentials && !disabled && performance.now() - started >= limit * 0.9) {
        throw Object.assign(
          new Error(
            `TimeoutError from instance metadata service: no answer within ${limit / 1000} s, and no other credentials are configured`,
            { cause: error },
          ),
          { name: 'ProviderError' },
        );
      }
      throw error;
    }
  }) as T;
}

/**
 * The SDK's default logger is silent, but with it a failed streamed request prints "An error was
 * encountered in a non-retryable streaming request." on the console; the adapter reports that
 * failure itself. Other warnings (e.g. AWS_PROFILE and an access key both set) still show, and
 * per-request info/error logs stay off as with the default.
 */
const QUIET_LOGGER = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  error: () => {},
  warn: (...content: unknown[]) => {
    if (!String(content[0]).includes('non-retryable streaming request')) console.warn(...content);
  },
};

/**
 * Names the credentials the default chain will pick, in the chain's own order, without reading
 * any secret: the first source that is configured is the one the SDK uses.
 */
export function describeCredentialSource(
  options: Pick<S3StoreOptions, 'profile'>,
  env: NodeJS.ProcessEnv,
): string {
  if (options.profile)
    return `the AWS profile "${options.profile}" (the \`profile\` option) from the shared config and credentials files`;
  // The SDK skips the environment's access key when a profile is named, so AWS_PROFILE wins.
  if (env.AWS_PROFILE)
    return `the AWS profile "${env.AWS_PROFILE}" (AWS_PROFILE) from the shared config and credentials files`;
  if (env.AWS_ACCESS_KEY_ID)
    return `the access key in the environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY${env.AWS_SESSION_TOKEN ? ' / AWS_SESSION_TOKEN' : ''}`;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE)
    return `the web identity token in AWS_WEB_IDENTITY_TOKEN_FILE for role ${env.AWS_ROLE_ARN ?? '(AWS_ROLE_ARN not set)'}`;
  return 'the AWS default credential chain (environment variables, the "default" profile of ~/.aws/config and ~/.aws/credentials, SSO, web identity, container and instance metadata)';
}

export const CREDENTIALS_HINT =
  'Set credentials the standard AWS way: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (or the `profile` option) with `aws configure` / `aws sso login`, or a role through OIDC (aws-actions/configure-aws-credentials) or instance metadata in CI. They need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket and prefix.';
