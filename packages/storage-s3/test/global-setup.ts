import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { TestProject } from 'vitest/node';
import {
  motoSetAuth,
  type RunningEmulator,
  startEmulator,
} from '../../../tools/emulators/start.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** moto with credential checks off (its default). */
    s3Endpoint: string;
    /** A second moto that checks credentials, so `test`/`test` gets 403 there. */
    s3AuthEndpoint: string;
    /** A bucket that exists on both. */
    s3Bucket: string;
  }
}

const BUCKET = 'defstate-test';

async function start(): Promise<RunningEmulator> {
  try {
    return await startEmulator('s3');
  } catch (error) {
    // Never skip: without the emulator the adapter is untested, so the run fails and says why.
    throw new Error(
      `The S3 emulator (moto, via tools/emulators/start.mjs) could not start, so the S3 adapter tests cannot run:\n${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function createBucket(endpoint: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    client.destroy();
  }
}

export default async function setup(project: TestProject) {
  const emulators: RunningEmulator[] = [];
  const stopAll = () => Promise.all(emulators.map((emulator) => emulator.stop()));
  try {
    const [open, checked] = await Promise.all([start(), start()]);
    emulators.push(open, checked);
    await Promise.all([createBucket(open.endpoint), createBucket(checked.endpoint)]);
    await motoSetAuth(checked.endpoint, 0);
    project.provide('s3Endpoint', open.endpoint);
    project.provide('s3AuthEndpoint', checked.endpoint);
    project.provide('s3Bucket', BUCKET);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return async () => {
    await stopAll();
  };
}
