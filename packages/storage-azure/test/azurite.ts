import { randomBytes } from 'node:crypto';
import type { BlobStore } from '@defstate/core';
import { inject } from 'vitest';
import { AZURITE_KEY, emulatorEnv } from '../../../tools/emulators/start.mjs';
import {
  type AzureStoreOptionsInput,
  AzureStoreOptionsSchema,
  storageAdapter,
} from '../src/index.js';

/** Helpers shared by the tests: the emulator's coordinates and stores opened through the adapter. */

export const endpoint = inject('azuriteEndpoint');
export const container = inject('azureContainer');
export const env = emulatorEnv('azure', endpoint);
export const blobEndpoint = env.AZURE_STORAGE_BLOB_ENDPOINT as string;
export const connectionString = env.AZURE_STORAGE_CONNECTION_STRING as string;

/** Valid base64 (the SharedKey HMAC needs it) that decodes to "SECRET-DO-NOT-PRINT". */
export const FAKE_KEY = 'U0VDUkVULURPLU5PVC1QUklOVA==';
export const wrongKeyConnectionString = connectionString.replace(AZURITE_KEY, FAKE_KEY);

export function uniquePrefix(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

/** Opens a store through the adapter, as core's openStore would, with an explicit env. */
export async function open(
  options: Partial<AzureStoreOptionsInput>,
  storeEnv: NodeJS.ProcessEnv = {},
): Promise<BlobStore> {
  const parsed = AzureStoreOptionsSchema.parse({ container, ...options });
  return storageAdapter.create(parsed, { baseDir: process.cwd(), env: storeEnv });
}
