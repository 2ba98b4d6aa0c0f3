import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../tools/emulators/start.mjs';
import { rawClient } from './helpers.js';

/**
 * Every lost-update test of the S3 adapter is only as good as the emulator's compare-and-swap.
 * moto checks `If-Match` and then writes, in a threaded server, with nothing held in between, so
 * two writers holding the same etag can both win; the 32-process torture once lost an update that
 * way. tools/emulators/moto-server.py runs moto with each write made whole. This test races
 * writers on a moto whose threads switch very often (so a switch between the check and the write
 * is likely, where on the default interval it is rare): exactly one writer wins every round.
 */
const ROUNDS = 150;
const WRITERS = 16;
const BUCKET = 'atomicity';

let emulator: RunningEmulator;
let client: S3Client;
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'defstate-moto-switch-'));
  await writeFile(join(folder, 'sitecustomize.py'), 'import sys\nsys.setswitchinterval(1e-6)\n');
  emulator = await startEmulator('s3', {
    // Each body goes to a file on disk, and each thread runs for a microsecond at a time.
    env: { PYTHONPATH: folder, MOTO_S3_DEFAULT_KEY_BUFFER_SIZE: '1' },
  });
  client = rawClient(emulator.endpoint);
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
  await rm(folder, { recursive: true, force: true });
});

const put = (body: string, ifMatch?: string) =>
  client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: body, IfMatch: ifMatch }),
  );

test(`moto lets exactly one of ${WRITERS} writers with the same etag win, ${ROUNDS} rounds`, async () => {
  const doubled: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { ETag } = await put(`round ${round}`);
    const settled = await Promise.allSettled(
      Array.from({ length: WRITERS }, (_, writer) =>
        put(`round ${round} writer ${writer} `.repeat(200), ETag),
      ),
    );
    const won = settled.filter(({ status }) => status === 'fulfilled').length;
    const refused = settled.filter(
      (result) =>
        result.status === 'rejected' &&
        (result.reason as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ===
          412,
    ).length;
    expect(won + refused, `round ${round}: every writer either won or got 412`).toBe(WRITERS);
    if (won !== 1) doubled.push(`round ${round}: ${won} winners`);
  }
  expect(doubled).toEqual([]);
}, 300_000);
