import { ObjectPrefixSchema } from '@defstate/core';
import { z } from 'zod';

/**
 * The options of `state_storage` when `adapter: s3`, and the `s3://bucket/prefix?…` URL form.
 * Credentials are deliberately not options: they come from the AWS default provider chain.
 */
export const S3StoreOptionsSchema = z
  .object({
    bucket: z
      .string({ error: 'bucket is required: the name of the S3 bucket that holds the state' })
      .min(3, 'bucket must be a bucket name of at least 3 characters')
      .regex(
        /^[^/\s]+$/,
        'bucket must be a bare bucket name (no "/" or spaces); put folders in prefix',
      )
      .describe('Bucket that holds the state objects.'),
    prefix: ObjectPrefixSchema,
    region: z
      .string()
      .min(1, 'region must not be empty')
      .optional()
      .describe('AWS region; defaults to AWS_REGION or the profile’s region.'),
    endpoint: z
      .url({ message: 'endpoint must be a URL such as http://127.0.0.1:9000' })
      .optional()
      .describe('Custom endpoint for S3-compatible stores (MinIO, R2) and emulators.'),
    forcePathStyle: z
      .boolean({ error: 'forcePathStyle must be true or false' })
      .default(false)
      .describe('Address buckets as http://host/bucket (MinIO, moto) instead of bucket.host.'),
    requestTimeoutMs: z
      .number({ error: 'requestTimeoutMs must be a number of milliseconds' })
      .int()
      .min(100, 'requestTimeoutMs must be at least 100')
      .optional()
      .describe(
        'Fail a request whose connection stays silent this long (default 60000); core retries it.',
      ),
    profile: z
      .string()
      .min(1, 'profile must not be empty')
      .optional()
      .describe('Shared config/credentials profile; defaults to AWS_PROFILE or "default".'),
    checksums: z
      .enum(['crc32', 'off'], { error: 'checksums must be crc32 or off' })
      .optional()
      .describe(
        'CRC32 checksums the store checks on every upload and part: crc32 (the default against AWS) or off (the default with an endpoint, as S3-compatible stores refuse them unevenly).',
      ),
  })
  .strict()
  // AWS checks a declared checksum on every part; several S3-compatible stores refuse the header
  // (R2 answered NotImplemented, OVH rejects CRC32), so with an endpoint it is asked for by name.
  .transform((options) => ({
    ...options,
    checksums: options.checksums ?? (options.endpoint === undefined ? 'crc32' : 'off'),
  }));

export type S3StoreOptions = z.infer<typeof S3StoreOptionsSchema>;
export type S3StoreOptionsInput = z.input<typeof S3StoreOptionsSchema>;

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  '1': true,
  yes: true,
  '': true,
  false: false,
  '0': false,
  no: false,
};

/**
 * `s3://bucket/optional/prefix?region=us-east-1&endpoint=http://127.0.0.1:9000&forcePathStyle=true`
 * becomes options. Unknown query parameters are passed on so that the schema names them.
 */
export function s3OptionsFromUrl(url: URL): Record<string, unknown> {
  const options: Record<string, unknown> = {
    bucket: decodeURIComponent(url.hostname),
    prefix: decodeURIComponent(url.pathname),
  };
  for (const [name, value] of url.searchParams) {
    options[name] =
      name === 'forcePathStyle'
        ? (BOOLEAN_WORDS[value.toLowerCase()] ?? value)
        : name === 'requestTimeoutMs'
          ? Number(value)
          : value;
  }
  return options;
}
