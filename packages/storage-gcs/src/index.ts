// Nothing here imports @google-cloud/storage: the SDK loads when a store is created.
export { createGcsStore, storageAdapter } from './adapter.js';
export type { GcsClient } from './client.js';
export { GcsBlobStore, SIMPLE_UPLOAD_MAX_BYTES } from './gcs-store.js';
export type { GcsStoreOptions, GcsStoreOptionsInput } from './options.js';
export { GcsStoreOptionsSchema, gcsOptionsFromUrl } from './options.js';
