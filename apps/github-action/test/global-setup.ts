import type { TestProject } from 'vitest/node';
import { type RunningEmulator, startEmulator } from '../../../tools/emulators/start.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** moto, with credential checks off (its default). */
    s3Endpoint: string;
    /** A bucket that exists there. */
    s3Bucket: string;
  }
}

const BUCKET = 'defstate-action-test';

export default async function setup(project: TestProject) {
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator('s3');
  } catch (error) {
    // Never skip: without the emulator the action is untested against S3, so the run fails.
    throw new Error(
      `The S3 emulator (moto, via tools/emulators/start.mjs) could not start, so the action's S3 tests cannot run:\n${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    // moto does not check signatures by default, so a plain PUT creates the bucket; no SDK here.
    const response = await fetch(`${emulator.endpoint}/${BUCKET}`, { method: 'PUT' });
    if (!response.ok) {
      throw new Error(`creating bucket ${BUCKET} on moto failed: HTTP ${response.status}`);
    }
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  project.provide('s3Endpoint', emulator.endpoint);
  project.provide('s3Bucket', BUCKET);
  return () => emulator.stop();
}
