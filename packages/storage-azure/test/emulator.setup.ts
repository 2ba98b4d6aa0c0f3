import { BlobServiceClient } from '@azure/storage-blob';
import type { TestProject } from 'vitest/node';
import { emulatorEnv, startEmulator } from '../../../tools/emulators/start.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Azurite's root, e.g. http://127.0.0.1:40123 (no account in the path). */
    azuriteEndpoint: string;
    /** A container that exists in it, shared by the tests (each test uses its own prefix). */
    azureContainer: string;
  }
}

export const TEST_CONTAINER = 'defstate-test';

/**
 * Starts Azurite once for the whole run and creates the test container. A run without the
 * emulator fails here, loudly: these tests are the adapter's only proof, never skipped.
 */
export default async function setup(project: TestProject) {
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator('azure');
  } catch (error) {
    throw new Error(
      `Azurite (the Azure Blob emulator) could not start, so the storage-azure tests cannot run: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const env = emulatorEnv('azure', emulator.endpoint);
  const service = BlobServiceClient.fromConnectionString(
    env.AZURE_STORAGE_CONNECTION_STRING as string,
  );
  await service.getContainerClient(TEST_CONTAINER).createIfNotExists();
  project.provide('azuriteEndpoint', emulator.endpoint);
  project.provide('azureContainer', TEST_CONTAINER);
  return async () => {
    await emulator.stop();
    // stop() awaits the exit; make sure that PID is really gone before the run ends.
    try {
      process.kill(emulator.pid, 0);
      process.kill(emulator.pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone, as expected.
    }
  };
}
