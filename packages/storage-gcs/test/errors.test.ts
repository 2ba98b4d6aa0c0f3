import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  AccessDeniedError,
  BlobNotFoundError,
  type BlobStore,
  PreconditionFailedError,
  readText,
  StoreNotFoundError,
  TransientError,
} from '@defstate/core';
import { createGcsStore, type GcsStoreOptionsInput } from '@defstate/storage-gcs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../../tools/emulators/fault-proxy.mjs';

// Error mapping against the real emulator, the fault proxy in front of it, and small local HTTP
// servers where neither can produce the failure (no SDK mocks: every error comes over HTTP).

const endpoint = inject('gcsEndpoint');
const bucket = inject('gcsBucket');
const MiB = 1024 * 1024;
const json = { 'content-type': 'application/json; charset=UTF-8' };

const opened: BlobStore[] = [];
async function open(options: Partial<GcsStoreOptionsInput> = {}): Promise<BlobStore> {
  const store = await createGcsStore({
    bucket,
    prefix: `errors/${randomBytes(6).toString('hex')}`,
    apiEndpoint: endpoint,
    projectId: 'test-project',
    ...options,
  });
  opened.push(store);
  return store;
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

const servers: Server[] = [];
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'defstate-gcs-errors-'));
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await rm(folder, { recursive: true, force: true });
});

describe('gcs errors on the emulator', () => {
  test('a missing object: get throws BlobNotFoundError, head is undefined, delete is quiet', async () => {
    const store = await open();
    const error = await rejection(store.get('nope'));
    expect(error).toBeInstanceOf(BlobNotFoundError);
    expect(await store.head('nope')).toBeUndefined();
    await store.delete('nope');
  });

  test('a missing bucket is StoreNotFoundError naming it, for every operation', async () => {
    const store = await open({ bucket: 'defstate-missing-bucket' });
    for (const attempt of [
      () => store.get('a'),
      () => store.head('a'),
      () => store.put('a', 'x'),
      () => store.put('big', Readable.from([Buffer.alloc(1024)])),
      () => store.list(''),
      () => store.delete('a'),
    ]) {
      const error = await rejection(attempt());
      expect(error).toBeInstanceOf(StoreNotFoundError);
      expect((error as Error).message).toContain('"defstate-missing-bucket"');
    }
  });

  test('an etag that is not a generation fails the condition and writes nothing', async () => {
    const store = await open();
    const error = await rejection(store.put('cas', 'x', { ifMatch: '"abc"' }));
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(await store.head('cas')).toBeUndefined();
  });

  test('resumable uploads honour create-only and replace-if-match (412 on the final PUT)', async () => {
    const store = await open();
    const body = () => Readable.from([Buffer.alloc(9 * MiB, 1)]);
    const { etag } = await store.put('big', body(), { ifNoneMatch: '*', size: 9 * MiB });
    expect(
      await rejection(store.put('big', body(), { ifNoneMatch: '*', size: 9 * MiB })),
    ).toBeInstanceOf(PreconditionFailedError);
    // Unknown size: resumable too.
    const { etag: second } = await store.put('big', body(), { ifMatch: etag });
    expect(await rejection(store.put('big', body(), { ifMatch: etag }))).toBeInstanceOf(
      PreconditionFailedError,
    );
    expect((await store.head('big'))?.etag).toBe(second);
  });
});

describe('gcs errors through the fault proxy', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(endpoint);
  });
  afterAll(() => proxy.stop());
  const gcsError = (code: number, reason: string, message: string) =>
    JSON.stringify({ error: { code, message, errors: [{ domain: 'global', reason, message }] } });

  test('429 and 5xx on reads, writes, uploads and listing are TransientError', async () => {
    const store = await open({ apiEndpoint: proxy.endpoint });
    await store.put('present', 'hello');
    const cases: Array<
      [number, (request: { method?: string; url?: string }) => boolean, () => Promise<unknown>]
    > = [
      [
        503,
        (r) => r.method === 'GET' && !!r.url?.includes('alt=media'),
        () => store.get('present'),
      ],
      [
        429,
        (r) => r.method === 'POST' && !!r.url?.includes('uploadType=multipart'),
        () => store.put('small', 'x'),
      ],
      [
        500,
        (r) => r.method === 'POST' && !!r.url?.includes('uploadType=resumable'),
        () => store.put('large', Readable.from([Buffer.alloc(16)])),
      ],
      [502, (r) => r.method === 'GET' && !r.url?.includes('alt=media'), () => store.list('')],
      [504, (r) => r.method === 'GET', () => store.head('present')],
      [500, (r) => r.method === 'DELETE', () => store.delete('present')],
    ];
    for (const [status, match, call] of cases) {
      proxy.clear();
      proxy.inject({
        status,
        match,
        headers: json,
        body: gcsError(status, 'backendError', 'injected'),
      });
      const error = await rejection(call());
      expect(error, `${status}`).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain(`HTTP ${status}`);
    }
    proxy.clear();
    // Once the fault is gone, the same store works again.
    expect((await readText(store, 'present')).text).toBe('hello');
  });

  test('401 and 403 are AccessDeniedError saying which credentials were used', async () => {
    const store = await open({ apiEndpoint: proxy.endpoint });
    for (const [status, reason] of [
      [403, 'forbidden'],
      [401, 'required'],
    ] as const) {
      proxy.clear();
      proxy.inject({ status, count: 2, headers: json, body: gcsError(status, reason, 'denied') });
      const put = await rejection(store.put('denied', 'x'));
      expect(put).toBeInstanceOf(AccessDeniedError);
      expect((put as Error).message).toContain(`HTTP ${status} ${reason}`);
      expect((put as Error).message).toContain('credentials tried: no credentials');
      expect((put as Error).message).toContain('gcloud auth application-default login');
      expect(await rejection(store.get('denied'))).toBeInstanceOf(AccessDeniedError);
    }
    proxy.clear();
  });

  test('a refused connection is TransientError', async () => {
    const closed = await serve(() => {});
    servers.at(-1)?.close();
    const store = await open({ apiEndpoint: closed });
    const error = await rejection(store.put('x', 'y'));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  test('a connection reset in the middle of a download is TransientError on the body', async () => {
    const resetting = await serve((request, response) => {
      if (!request.url?.includes('alt=media')) {
        response.writeHead(500).end();
        return;
      }
      response.writeHead(200, {
        'content-length': '100000',
        'x-goog-generation': '7',
        'x-goog-stored-content-length': '100000',
        'x-goog-stored-content-encoding': 'identity',
      });
      response.write(Buffer.alloc(1000));
      setTimeout(() => response.socket?.destroy(), 50);
    });
    const store = await open({ apiEndpoint: resetting, stallTimeoutMs: 500 });
    const { body, etag, size } = await store.get('object');
    expect([etag, size]).toEqual(['7', 100000]);
    const error = await rejection(
      (async () => {
        for await (const _ of body) {
          /* drain */
        }
      })(),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('stalled: no data for 0.5 s after 1000 bytes');
  });

  test('a download that ends short of its length is TransientError', async () => {
    const short = await serve((_request, response) => {
      // Chunked, so the client sees a clean end: only the stored length shows the loss.
      response.writeHead(200, { 'x-goog-generation': '7', 'x-goog-stored-content-length': '5000' });
      response.end(Buffer.alloc(1000));
    });
    const store = await open({ apiEndpoint: short });
    const { body } = await store.get('object');
    const error = await rejection(
      (async () => {
        for await (const _ of body) {
          /* drain */
        }
      })(),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('ended after 1000 of 5000 bytes');
  });
});

describe('gcs credentials', () => {
  test('a refused credential exchange is AccessDeniedError naming the key file, never the secret', async () => {
    const secret = `SUBJECT-TOKEN-${randomBytes(12).toString('hex')}`;
    // A security-token service that refuses every exchange, echoing the request as some do.
    const sts = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        response
          .writeHead(400, json)
          .end(
            JSON.stringify({ error: 'invalid_grant', error_description: `bad token in ${body}` }),
          );
      });
    });
    const tokenFile = join(folder, 'subject-token');
    await writeFile(tokenFile, secret);
    // Workload identity federation's standard credential file: the token is read from a file
    // and exchanged at token_url.
    const keyFilename = join(folder, 'external-account.json');
    await writeFile(
      keyFilename,
      JSON.stringify({
        type: 'external_account',
        audience:
          '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${sts}/v1/token`,
        credential_source: { file: tokenFile },
      }),
    );
    const store = await open({ keyFilename });
    for (const attempt of [() => store.put('x', 'y'), () => store.get('x'), () => store.list('')]) {
      const error = await rejection(attempt());
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect((error as Error).message).toContain(`key file ${keyFilename}`);
      expect((error as Error).message).not.toContain(secret);
      expect(inspect(error, { depth: Number.POSITIVE_INFINITY })).not.toContain(secret);
    }
  });

  test('a corrupt key file is AccessDeniedError that does not quote it', async () => {
    const secret = `PRIVATE-KEY-${randomBytes(12).toString('hex')}`;
    const keyFilename = join(folder, 'broken-key.json');
    await writeFile(keyFilename, `{"type":"service_account","private_key":"${secret}`);
    const store = await open({ keyFilename });
    const error = await rejection(store.get('x'));
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('broken-key.json');
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY })).not.toContain(secret);
  });
});
