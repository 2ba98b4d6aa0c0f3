export { storageAdapter } from './adapter.js';
export { AzureBlobStore, BLOCK_SIZE, SINGLE_PUT_LIMIT, UPLOAD_CONCURRENCY } from './azure-store.js';
export type { AzureClient, CredentialSource } from './client.js';
export { createAzureClient } from './client.js';
export type { AzureStoreOptions, AzureStoreOptionsInput } from './options.js';
export { AzureStoreOptionsSchema, azureOptionsFromUrl } from './options.js';
