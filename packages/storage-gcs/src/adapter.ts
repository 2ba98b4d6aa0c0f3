import { ConfigError, defineStorageAdapter } from '@defstate/core';
import { createGcsClient } from './client.js';
import { GcsBlobStore } from './gcs-store.js';
import {
  type GcsStoreOptions,
  type GcsStoreOptionsInput,
  GcsStoreOptionsSchema,
  gcsOptionsFromUrl,
} from './options.js';

/** `state_storage: { adapter: gcs, options: {...} }` and `gs://bucket/prefix` URLs. */
export const storageAdapter = defineStorageAdapter<GcsStoreOptions>({
  name: 'gcs',
  optionsSchema: GcsStoreOptionsSchema,
  async create(options, context) {
    const client = await createGcsClient(options, context);
    return new GcsBlobStore(client, options.bucket, options.prefix, {
      ...options,
      env: context.env,
    });
  },
  optionsFromUrl: gcsOptionsFromUrl,
});

/** Opens a store directly, without going through `defstate.yaml`. */
export async function createGcsStore(
  options: GcsStoreOptionsInput,
  context: { baseDir?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<GcsBlobStore> {
  const result = GcsStoreOptionsSchema.safeParse(options);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(issue?.message ?? 'invalid options', {
      field: ['options', ...(issue?.path ?? []).map(String)].join('.'),
    });
  }
  const parsed = result.data;
  const client = await createGcsClient(parsed, {
    baseDir: context.baseDir ?? process.cwd(),
    env: context.env ?? process.env,
  });
  return new GcsBlobStore(client, parsed.bucket, parsed.prefix, {
    ...parsed,
    env: context.env ?? process.env,
  });
}
