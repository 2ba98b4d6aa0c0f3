import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import {
  type S3BlobStore,
  type S3StoreOptionsInput,
  S3StoreOptionsSchema,
  storageAdapter,
} from '../src/index.js';

/** The emulator's credentials and nothing from this machine's AWS setup. */
export const EMULATOR_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
} as const;

/** Points the SDK's shared config and credentials files at empty files, for one test. */
export async function isolatedAwsFiles(credentials = ''): Promise<{
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}> {
  const folder = await mkdtemp(join(tmpdir(), 'defstate-s3-aws-'));
  await writeFile(join(folder, 'config'), '');
  await writeFile(join(folder, 'credentials'), credentials);
  return {
    env: {
      AWS_CONFIG_FILE: join(folder, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(folder, 'credentials'),
    },
    cleanup: () => rm(folder, { recursive: true, force: true }),
  };
}

export function uniquePrefix(label: string): string {
  return `${label}/${randomBytes(6).toString('hex')}`;
}

export async function openTestStore(
  options: Partial<S3StoreOptionsInput> & { endpoint: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<S3BlobStore> {
  const parsed = S3StoreOptionsSchema.parse({
    bucket: 'defstate-test',
    region: 'us-east-1',
    forcePathStyle: true,
    ...options,
  });
  return (await storageAdapter.create(parsed, { baseDir: process.cwd(), env })) as S3BlobStore;
}

/** A raw client on the emulator, to look behind the adapter's back. */
export function rawClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

/** `size` bytes in 1 MiB chunks, as a stream of unknown length. */
export function bytes(size: number, fill = 1): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const length = Math.min(left, 1024 * 1024);
      left -= length;
      this.push(Buffer.alloc(length, fill));
    },
  });
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
