import type { TestProject } from 'vitest/node';
import { type RunningEmulator, startEmulator } from '../../../tools/emulators/start.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** fake-gcs-server's endpoint, e.g. http://127.0.0.1:40123. */
    gcsEndpoint: string;
    /** A bucket that exists in it, for every test file. */
    gcsBucket: string;
  }
}

export const TEST_BUCKET = 'defstate-test';

/**
 * Starts fake-gcs-server for the whole run and creates the test bucket. If it cannot start, the
 * run fails here with the emulator's name and why (start.mjs says so), never skips.
 */
export default async function setup(project: TestProject) {
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator('gcs');
  } catch (error) {
    throw new Error(
      `The GCS adapter tests need fake-gcs-server and it could not start:\n${(error as Error).message}`,
    );
  }
  const response = await fetch(`${emulator.endpoint}/storage/v1/b?project=test-project`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: TEST_BUCKET }),
  });
  if (!response.ok) {
    await emulator.stop();
    throw new Error(
      `fake-gcs-server at ${emulator.endpoint} refused to create bucket ${TEST_BUCKET}: ${response.status} ${await response.text()}`,
    );
  }
  project.provide('gcsEndpoint', emulator.endpoint);
  project.provide('gcsBucket', TEST_BUCKET);
  return async () => {
    // stop() signals the emulator by the PID start.mjs spawned, then awaits its exit.
    await emulator.stop();
  };
}
