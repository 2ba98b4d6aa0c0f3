import { defineStorageAdapter } from '@defstate/core';
import { AzureBlobStore } from './azure-store.js';
import { createAzureClient } from './client.js';
import { type AzureStoreOptions, AzureStoreOptionsSchema, azureOptionsFromUrl } from './options.js';

/**
 * `state_storage: { adapter: azure, options: { container, prefix, accountUrl, … } }`, or
 * `--storage azblob://<account>/<container>/<prefix>`. The SDK is loaded by `create`, not here.
 */
export const storageAdapter = defineStorageAdapter<AzureStoreOptions>({
  name: 'azure',
  optionsSchema: AzureStoreOptionsSchema,
  create: async (options, context) =>
    new AzureBlobStore(await createAzureClient(options, context.env), options.prefix, {
      requestTimeoutMs: options.requestTimeoutMs,
      env: context.env,
    }),
  optionsFromUrl: azureOptionsFromUrl,
});
