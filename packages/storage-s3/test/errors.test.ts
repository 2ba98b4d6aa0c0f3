import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import {
  AbortedError,
  AccessDeniedError,
  BlobNotFoundError,
  PreconditionFailedError,
  readText,
  StorageError,
  StoreNotFoundError,
  TransientError,
} from '@defstate/core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../../tools/emulators/fault-proxy.mjs';
import { freePort } from '../../../tools/emulators/start.mjs';
import type { S3BlobStore } from '../src/index.js';
import {
  bytes,
  EMULATOR_ENV,
  isolatedAwsFiles,
  openTestStore,
  rawClient,
  rejection,
  uniquePrefix,
} from './helpers.js';

const MiB = 1024 * 1024;
const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');

beforeAll(() => {
  for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
  vi.stubEnv('AWS_PROFILE', undefined);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function openMultipartUploads(prefix: string) {
  const client = rawClient(endpoint);
  try {
    const listed = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }),
    );
    return listed.Uploads ?? [];
  } finally {
    client.destroy();
  }
}

describe('a missing bucket', () => {
  test('is StoreNotFoundError naming the bucket, for every operation', async () => {
    const store = await openTestStore({ endpoint, bucket: 'defstate-absent-bucket', prefix: 'p' });
    try {
      const errors = [
        await rejection(store.put('a', 'x')),
        await rejection(store.put('b', bytes(10 * MiB))),
        await rejection(store.get('a')),
        await rejection(store.head('a')),
        await rejection(store.list('')),
        await rejection(store.delete('a')),
      ];
      for (const error of errors) {
        expect(error).toBeInstanceOf(StoreNotFoundError);
        expect((error as Error).message).toContain('"defstate-absent-bucket"');
        expect((error as Error).message).toContain('s3://defstate-absent-bucket/p');
      }
    } finally {
      await store.close();
    }
  });
});

describe('conditional writes', () => {
  let store: S3BlobStore;
  beforeAll(async () => {
    store = await openTestStore({ endpoint, prefix: uniquePrefix('conditional') });
  });
  afterAll(() => store.close());

  test('a multipart create-only put over an existing object fails and leaves no parts', async () => {
    await store.put('big', 'first');
    const error = await rejection(store.put('big', bytes(20 * MiB), { ifNoneMatch: '*' }));
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect((await readText(store, 'big')).text).toBe('first');
    expect(await openMultipartUploads(store.prefix)).toEqual([]);
  });

  test('a multipart create-only put of a new object creates it', async () => {
    const { etag } = await store.put('big-new', bytes(20 * MiB), { ifNoneMatch: '*' });
    expect((await store.head('big-new'))?.etag).toBe(etag);
    expect((await store.head('big-new'))?.size).toBe(20 * MiB);
  });

  test('a large if-match put of known size is one conditional PutObject', async () => {
    const { etag } = await store.put('cas-big', 'v1');
    const wrong = await rejection(
      store.put('cas-big', bytes(12 * MiB), { ifMatch: '"0123456789abcdef"', size: 12 * MiB }),
    );
    expect(wrong).toBeInstanceOf(PreconditionFailedError);
    expect((await readText(store, 'cas-big')).text).toBe('v1');
    const replaced = await store.put('cas-big', bytes(12 * MiB), { ifMatch: etag, size: 12 * MiB });
    const head = await store.head('cas-big');
    expect(head).toMatchObject({ size: 12 * MiB, etag: replaced.etag });
    // A single PutObject's etag is a plain MD5; a multipart one ends in -<parts>.
    expect(replaced.etag).not.toMatch(/-\d+"$/);
  });

  test('if-match on an object that is gone is a lost race, not a missing object', async () => {
    const { etag } = await store.put('gone', 'x');
    await store.delete('gone');
    expect(await rejection(store.put('gone', 'y', { ifMatch: etag }))).toBeInstanceOf(
      PreconditionFailedError,
    );
  });

  test('a body shorter than its announced size is refused and nothing is stored', async () => {
    const error = await rejection(store.put('short', bytes(9 * MiB), { size: 10 * MiB }));
    expect(error).toBeInstanceOf(StorageError);
    expect(await store.head('short')).toBeUndefined();
    expect(await openMultipartUploads(store.prefix)).toEqual([]);
  });

  test('a cancelled put is AbortedError', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      await rejection(store.put('cancelled', 'x', { signal: controller.signal })),
    ).toBeInstanceOf(AbortedError);
  });
});

describe('transient failures through the fault proxy', () => {
  let proxy: FaultProxy;
  let store: S3BlobStore;
  beforeAll(async () => {
    proxy = await startFaultProxy(endpoint);
    store = await openTestStore({ endpoint: proxy.endpoint, prefix: uniquePrefix('faults') });
    await store.put('present', 'here');
  });
  afterEach(() => proxy.clear());
  afterAll(async () => {
    await store.close();
    await proxy.stop();
  });

  test('503 SlowDown on a put', async () => {
    proxy.inject({
      status: 503,
      body: '<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
    });
    const error = await rejection(store.put('slow', 'x'));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('SlowDown');
    expect((error as TransientError).retryable).toBe(true);
    await store.put('slow', 'x');
  });

  test('500 InternalError on a get, 503 on a head, 429 on a list', async () => {
    proxy.inject({
      status: 500,
      body: '<Error><Code>InternalError</Code></Error>',
      match: (req) => req.method === 'GET',
    });
    expect(await rejection(store.get('present'))).toBeInstanceOf(TransientError);
    proxy.inject({ status: 503, match: (req) => req.method === 'HEAD' });
    expect(await rejection(store.head('present'))).toBeInstanceOf(TransientError);
    proxy.inject({ status: 429, match: (req) => req.method === 'GET' });
    expect(await rejection(store.list(''))).toBeInstanceOf(TransientError);
    expect((await readText(store, 'present')).text).toBe('here');
  });

  test('a part that keeps failing aborts the multipart upload', async () => {
    // Every attempt at part 2 fails, so its retries run out (faults.test.ts: one failure is retried).
    proxy.inject({
      status: 500,
      count: 100,
      match: (req) => req.method === 'PUT' && (req.url ?? '').includes('partNumber=2'),
    });
    const error = await rejection(store.put('parts', bytes(20 * MiB)));
    expect(error).toBeInstanceOf(TransientError);
    expect(await store.head('parts')).toBeUndefined();
    expect(await openMultipartUploads(store.prefix)).toEqual([]);
    proxy.clear();
  });

  test('a refused connection', async () => {
    const closed = await openTestStore({ endpoint: `http://127.0.0.1:${await freePort()}` });
    try {
      const error = await rejection(closed.get('anything'));
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain('ECONNREFUSED');
    } finally {
      await closed.close();
    }
  });
});

describe('a connection reset in the middle of a download', () => {
  let server: Server;
  beforeAll(async () => {
    // Answers every GET with headers for 1 MiB, sends 64 KiB, then drops the socket.
    server = createServer((request, response) => {
      request.resume();
      response.writeHead(200, {
        'content-length': String(MiB),
        etag: '"abc"',
        'last-modified': new Date().toUTCString(),
        'content-type': 'application/octet-stream',
      });
      response.write(Buffer.alloc(64 * 1024), () => response.socket?.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('surfaces from the body stream as TransientError', async () => {
    const port = (server.address() as AddressInfo).port;
    const store = await openTestStore({ endpoint: `http://127.0.0.1:${port}` });
    try {
      const { body } = await store.get('object');
      const error = await rejection(
        (async () => {
          for await (const _chunk of body);
        })(),
      );
      expect(error).toBeInstanceOf(TransientError);
    } finally {
      await store.close();
    }
  });
});

describe('credentials', () => {
  const SECRET = 'wJalrXUtnFEMI-DEFSTATE-TEST-SECRET-s3cr3t';
  const authEndpoint = inject('s3AuthEndpoint');

  function expectNoSecret(error: unknown) {
    expect((error as Error).message).not.toContain(SECRET);
    expect(inspect(error, { depth: null })).not.toContain(SECRET);
    expect(JSON.stringify(error)).not.toContain(SECRET);
  }

  test('a refused access key is AccessDeniedError naming its source, never the secret', async () => {
    const files = await isolatedAwsFiles();
    const env = {
      ...process.env,
      ...files.env,
      AWS_ACCESS_KEY_ID: 'AKIADEFSTATETEST0001',
      AWS_SECRET_ACCESS_KEY: SECRET,
    };
    vi.stubEnv('AWS_ACCESS_KEY_ID', env.AWS_ACCESS_KEY_ID);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET);
    const store = await openTestStore({ endpoint: authEndpoint, prefix: 'denied' }, env);
    try {
      for (const error of [
        await rejection(store.put('x', 'y')),
        await rejection(store.get('x')),
        await rejection(store.head('x')),
      ]) {
        expect(error).toBeInstanceOf(AccessDeniedError);
        expect((error as Error).message).toContain('AWS_ACCESS_KEY_ID');
        expect((error as Error).message).toContain('s3:GetObject');
        expectNoSecret(error);
      }
    } finally {
      await store.close();
      await files.cleanup();
      for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
    }
  });

  test('a named profile is the source the message names', async () => {
    const files = await isolatedAwsFiles(
      `[ci-deploy]\naws_access_key_id = AKIADEFSTATETEST0002\naws_secret_access_key = ${SECRET}\n`,
    );
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    for (const [name, value] of Object.entries(files.env)) vi.stubEnv(name, value);
    const store = await openTestStore({
      endpoint: authEndpoint,
      prefix: 'denied',
      profile: 'ci-deploy',
    });
    try {
      const error = await rejection(store.put('x', 'y'));
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect((error as Error).message).toContain('profile "ci-deploy"');
      expectNoSecret(error);
    } finally {
      await store.close();
      await files.cleanup();
      for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
    }
  });

  test('no credentials anywhere is AccessDeniedError that lists where it looked', async () => {
    const files = await isolatedAwsFiles();
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    for (const [name, value] of Object.entries(files.env)) vi.stubEnv(name, value);
    const store = await openTestStore({ endpoint, prefix: 'nocreds' });
    try {
      const error = await rejection(store.get('x'));
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect((error as Error).message).toContain('no credentials could be loaded');
      expect((error as Error).message).toContain('default credential chain');
      expect((error as Error).message).toContain('AWS_ACCESS_KEY_ID');
    } finally {
      await store.close();
      await files.cleanup();
      for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
    }
  });
});

describe('missing objects', () => {
  test('get is BlobNotFoundError and head is undefined once the bucket is known', async () => {
    const store = await openTestStore({ endpoint, prefix: uniquePrefix('missing') });
    try {
      expect(await store.head('nothing')).toBeUndefined();
      expect(await rejection(store.get('nothing'))).toBeInstanceOf(BlobNotFoundError);
      const client = rawClient(endpoint);
      const raw = await rejection(
        client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'x/y' })),
      );
      client.destroy();
      // The reason head() asks about the bucket: S3's answer to HEAD carries no error code.
      expect((raw as { name: string }).name).toBe('NotFound');
    } finally {
      await store.close();
    }
  });
});
