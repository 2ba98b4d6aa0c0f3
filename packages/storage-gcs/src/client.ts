import { resolve } from 'node:path';
import type { AdapterContext } from '@defstate/core';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '@defstate/core/adapter';
import type { Bucket, Storage } from '@google-cloud/storage';
import { crc32cValidator } from './crc32c.js';
import type { GcsStoreOptions } from './options.js';

/** An SDK client for one bucket, and how it authenticates, in words fit for an error message. */
export interface GcsClient {
  storage: Storage;
  bucket: Bucket;
  /** Which credentials are used, e.g. "the key file /etc/key.json". Never a secret. */
  credentials: string;
  /** Whether requests carry credentials at all (not for an emulator on a custom endpoint). */
  authenticated: boolean;
}

/**
 * Makes the SDK client. `@google-cloud/storage` is imported here, on first use, so that importing
 * the adapter package (which the CLI does for every run that names it) costs nothing.
 *
 * Credentials are the SDK's own: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
 * gcloud's application-default login, workload identity / the metadata server), or `keyFilename`.
 * defstate never reads or stores a secret itself.
 */
export async function createGcsClient(
  options: GcsStoreOptions,
  context: AdapterContext,
): Promise<GcsClient> {
  const { Storage } = await import('@google-cloud/storage');
  const keyFilename =
    options.keyFilename === undefined ? undefined : resolve(context.baseDir, options.keyFilename);
  const customEndpoint = options.apiEndpoint !== undefined || !!context.env.STORAGE_EMULATOR_HOST;
  const useAuthWithCustomEndpoint = options.useAuthWithCustomEndpoint ?? keyFilename !== undefined;
  const storage = new Storage({
    ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    ...(keyFilename === undefined ? {} : { keyFilename }),
    useAuthWithCustomEndpoint,
    // A bound on every JSON API request; the store adds its own deadlines on top (gcs-store.ts).
    timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    // The SDK's own retries are off: core retries every TransientError with exponential backoff
    // and jitter around the whole operation (a fresh upload stream included), so retrying here
    // too would multiply attempts and hide throttling from core's backoff.
    retryOptions: { autoRetry: false },
    // Downloads are still checked against the object's CRC32C, by a faster implementation of the
    // same checksum than the SDK's default (see crc32c.ts).
    crc32cGenerator: crc32cValidator,
  });
  return {
    storage,
    bucket: storage.bucket(options.bucket),
    credentials: describeCredentials(
      keyFilename,
      customEndpoint && !useAuthWithCustomEndpoint,
      context.env,
    ),
    authenticated: !customEndpoint || useAuthWithCustomEndpoint,
  };
}

function describeCredentials(
  keyFilename: string | undefined,
  anonymous: boolean,
  env: NodeJS.ProcessEnv,
): string {
  if (anonymous)
    return 'no credentials (a custom apiEndpoint is used without authentication; set useAuthWithCustomEndpoint: true to send Application Default Credentials)';
  if (keyFilename) return `the service-account key file ${keyFilename} (option keyFilename)`;
  if (env.GOOGLE_APPLICATION_CREDENTIALS)
    return `Application Default Credentials from GOOGLE_APPLICATION_CREDENTIALS (${env.GOOGLE_APPLICATION_CREDENTIALS})`;
  return 'Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, then gcloud application-default login, then the metadata server: GCE, GKE workload identity, Cloud Run)';
}
