import { ObjectPrefixSchema } from '@defstate/core';
import { z } from 'zod';

// Bucket names: 3–63 characters (up to 222 when dotted), lowercase letters, digits, `-`, `_` and
// `.`, starting and ending with a letter or digit. Checked here so a typo fails at config time,
// naming the field, instead of as an HTTP 400 in the middle of a refresh.
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export const GcsStoreOptionsSchema = z
  .object({
    bucket: z
      .string({ error: 'bucket is required: the name of the GCS bucket that holds the state' })
      .regex(BUCKET_NAME, 'bucket must be a GCS bucket name (lowercase letters, digits, - _ .)')
      .refine((name) => !name.includes('..') && (name.includes('.') || name.length <= 63), {
        message: 'bucket must be a GCS bucket name (at most 63 characters without dots)',
      })
      .describe('Name of the bucket that holds the state objects.'),
    prefix: ObjectPrefixSchema,
    projectId: z
      .string()
      .min(1)
      .optional()
      .describe('Google Cloud project; by default the one Application Default Credentials name.'),
    apiEndpoint: z
      .url({ protocol: /^https?$/, error: 'apiEndpoint must be an http(s) URL' })
      .optional()
      .describe('JSON API endpoint, for fake-gcs-server or a GCS-compatible store.'),
    keyFilename: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Service-account key file, instead of Application Default Credentials. Relative to DEFSTATE_HOME.',
      ),
    useAuthWithCustomEndpoint: z
      .boolean()
      .optional()
      .describe(
        'Send credentials to a custom apiEndpoint too (default: only when keyFilename is set).',
      ),
    requestTimeoutMs: z
      .number()
      .int()
      .min(100)
      .optional()
      .describe(
        'Fail a request without an answer, or an upload without progress, for this long (default 60000); core retries it.',
      ),
    stallTimeoutMs: z
      .number()
      .int()
      .min(100)
      .optional()
      .describe(
        'Fail a download that receives no data for this long (default: requestTimeoutMs); core retries it.',
      ),
  })
  .strict();

export type GcsStoreOptions = z.output<typeof GcsStoreOptionsSchema>;
export type GcsStoreOptionsInput = z.input<typeof GcsStoreOptionsSchema>;

const URL_PARAMETERS = [
  'projectId',
  'apiEndpoint',
  'keyFilename',
  'useAuthWithCustomEndpoint',
  'requestTimeoutMs',
  'stallTimeoutMs',
];

/**
 * `gs://bucket/optional/prefix?apiEndpoint=http://127.0.0.1:4443&projectId=x` as options. Unknown
 * query parameters are passed on, so the schema rejects them by name instead of ignoring a typo.
 */
export function gcsOptionsFromUrl(url: URL): Record<string, unknown> {
  const options: Record<string, unknown> = {
    bucket: url.hostname,
    prefix: decodeURIComponent(url.pathname),
  };
  for (const [name, value] of url.searchParams) {
    if (name === 'useAuthWithCustomEndpoint') options[name] = value === 'true' || value === '1';
    else if (name === 'stallTimeoutMs' || name === 'requestTimeoutMs')
      options[name] = Number(value);
    else options[name] = value;
  }
  for (const name of URL_PARAMETERS) if (options[name] === '') delete options[name];
  return options;
}
