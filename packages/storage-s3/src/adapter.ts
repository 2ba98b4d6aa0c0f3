import { defineStorageAdapter } from '@defstate/core';
import { type S3StoreOptions, S3StoreOptionsSchema, s3OptionsFromUrl } from './options.js';
import { S3BlobStore } from './s3-store.js';

/**
 * `state_storage: { adapter: s3, options }` and `s3://bucket/prefix` URLs. The AWS SDK is loaded
 * when a store is created (see client.ts), so importing the adapter costs nothing.
 */
export const storageAdapter = defineStorageAdapter<S3StoreOptions>({
  name: 's3',
  optionsSchema: S3StoreOptionsSchema,
  create: (options, context) => S3BlobStore.open(options, context.env),
  optionsFromUrl: s3OptionsFromUrl,
});
