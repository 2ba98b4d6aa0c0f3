export { storageAdapter } from './adapter.js';
export { describeCredentialSource } from './client.js';
export type { S3StoreOptions, S3StoreOptionsInput } from './options.js';
export { S3StoreOptionsSchema, s3OptionsFromUrl } from './options.js';
export { PART_SIZE, QUEUE_SIZE, S3BlobStore } from './s3-store.js';
