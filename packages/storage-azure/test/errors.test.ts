import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  AccessDeniedError,
  BlobNotFoundError,
  type BlobStore,
  listAll,
  PreconditionFailedError,
  StoreNotFoundError,
  TransientError,
} from '@defstate/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../../tools/emulators/fault-proxy.mjs';
import { BLOCK_SIZE } from '../src/index.js';
import {
  blobEndpoint,
  connectionString,
  endpoint,
  FAKE_KEY,
  open,
  uniquePrefix,
  wrongKeyConnectionString,
} from './azurite.js';

// Error mapping against the real emulator, and transient faults through a proxy in front of it.

const SECRET_TEXT = 'SECRET-DO-NOT-PRINT';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Everything a log line or a crash report could show of an error: message, stack, causes. */
function everythingShown(error: Error): string {
  return `${error.message}\n${error.stack}\n${inspect(error, { depth: 8 })}`;
}

const stores: BlobStore[] = [];
async function tracked(store: Promise<BlobStore>): Promise<BlobStore> {
  stores.push(await store);
  return stores.at(-1) as BlobStore;
}
afterAll(async () => {
  for (const store of stores) {
    const names = [];
    try {
      for await (const item of listAll(store, '')) names.push(item.name);
    } catch {
      continue; // stores set up to fail
    }
    for (const name of names) await store.delete(name);
  }
});

describe('error mapping on Azurite', () => {
  let store: BlobStore;
  beforeAll(async () => {
    store = await tracked(open({ prefix: uniquePrefix('errors'), connectionString }));
  });

  test('a missing object: get throws BlobNotFoundError naming it, head is undefined', async () => {
    const error = await rejection(store.get('nope/here'));
    expect(error).toBeInstanceOf(BlobNotFoundError);
    expect((error as BlobNotFoundError).objectKey).toBe('nope/here');
    expect(await store.head('nope/here')).toBeUndefined();
  });

  test('a missing container is StoreNotFoundError naming container and account, for every call', async () => {
    const missing = await open({ container: 'not-there', connectionString });
    for (const call of [
      () => missing.get('x'),
      () => missing.head('x'),
      () => missing.put('x', 'x'),
      () =>
        missing.put('x', Readable.from([Buffer.alloc(BLOCK_SIZE + 1)]), { size: BLOCK_SIZE + 1 }),
      () => missing.list(''),
      () => missing.delete('x'),
    ]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(StoreNotFoundError);
      expect(error.message).toContain('"not-there"');
      expect(error.message).toContain('"devstoreaccount1"');
      expect(error.message).toContain('az storage container create --name not-there');
    }
  });

  test('create-only over an existing object (Azure: 409 BlobAlreadyExists) is PreconditionFailedError, one-shot and block upload', async () => {
    await store.put('exists', 'first');
    const small = await rejection(store.put('exists', 'second', { ifNoneMatch: '*' }));
    expect(small).toBeInstanceOf(PreconditionFailedError);
    expect((small.cause as { statusCode?: number }).statusCode).toBe(409);
    const big = Buffer.alloc(BLOCK_SIZE * 2 + 5, 1);
    const streamed = await rejection(
      store.put('exists', Readable.from([big]), { ifNoneMatch: '*', size: big.length }),
    );
    expect(streamed).toBeInstanceOf(PreconditionFailedError);
    expect((await readAll((await store.get('exists')).body)).toString()).toBe('first');
  });

  test('if-match with a stale etag (412 ConditionNotMet) is PreconditionFailedError, one-shot and block upload', async () => {
    const { etag: stale } = await store.put('cas', 'one');
    const { etag } = await store.put('cas', 'two', { ifMatch: stale });
    const small = await rejection(store.put('cas', 'three', { ifMatch: stale }));
    expect(small).toBeInstanceOf(PreconditionFailedError);
    expect((small.cause as { statusCode?: number }).statusCode).toBe(412);
    const big = Buffer.alloc(BLOCK_SIZE + 1, 2);
    const streamed = await rejection(store.put('cas', Readable.from([big]), { ifMatch: stale }));
    expect(streamed).toBeInstanceOf(PreconditionFailedError);
    expect((await store.head('cas'))?.etag).toBe(etag);
    // The right etag through the block path wins and returns the new etag.
    const { etag: after } = await store.put('cas', Readable.from([big]), { ifMatch: etag });
    expect((await store.head('cas'))?.etag).toBe(after);
    expect((await store.head('cas'))?.size).toBe(big.length);
  });

  test('a stream of unknown size is uploaded whole, small or large', async () => {
    const small = Buffer.from('small body');
    await store.put('unknown/small', Readable.from([small]));
    expect((await readAll((await store.get('unknown/small')).body)).equals(small)).toBe(true);
    const large = randomBytes(BLOCK_SIZE + 12345);
    const chunks = Array.from({ length: 40 }, (_, index) =>
      large.subarray((index * large.length) / 40, ((index + 1) * large.length) / 40),
    );
    await store.put('unknown/large', Readable.from(chunks));
    expect((await readAll((await store.get('unknown/large')).body)).equals(large)).toBe(true);
  });

  test('cancelling a download midway ends its body with AbortedError, not a transient error', async () => {
    await store.put('to-cancel', Readable.from([randomBytes(BLOCK_SIZE * 4)]));
    const controller = new AbortController();
    const { body } = await store.get('to-cancel', { signal: controller.signal });
    const reading = rejection(
      (async () => {
        for await (const _chunk of body) controller.abort();
      })(),
    );
    expect(((await reading) as { code?: string }).code).toBe('ABORTED');
  });

  test('an aborted signal stops a put and writes nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(store.put('aborted', 'x', { signal: controller.signal }));
    expect((error as { code?: string }).code).toBe('ABORTED');
    expect(await store.head('aborted')).toBeUndefined();
  });
});

describe('refused credentials', () => {
  test('a wrong account key is AccessDeniedError naming the source, never the key', async () => {
    const store = await open({
      prefix: uniquePrefix('denied'),
      connectionString: wrongKeyConnectionString,
    });
    for (const call of [
      () => store.put('x', 'x'),
      () => store.get('x'),
      () => store.head('x'),
      () => store.list(''),
    ]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(error.message).toContain(
        'tried the connection string in the connectionString option (account "devstoreaccount1", shared key)',
      );
      expect(error.message).toMatch(/→ Check that the connectionString option holds a current/);
      const shown = everythingShown(error);
      expect(shown).not.toContain(FAKE_KEY);
      expect(shown).not.toContain(SECRET_TEXT);
    }
  });

  test('the same key from AZURE_STORAGE_CONNECTION_STRING is named as such', async () => {
    const store = await open(
      { prefix: uniquePrefix('denied'), accountUrl: blobEndpoint },
      { AZURE_STORAGE_CONNECTION_STRING: wrongKeyConnectionString },
    );
    const error = await rejection(store.put('x', 'x'));
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toContain('connection string in AZURE_STORAGE_CONNECTION_STRING');
    expect(everythingShown(error)).not.toContain(FAKE_KEY);
  });

  test('a forged SAS is AccessDeniedError that does not show the signature', async () => {
    const signature = `${SECRET_TEXT}-sig`;
    const sasToken = `sv=2021-08-06&ss=b&srt=sco&sp=rwdl&se=2099-01-01T00:00:00Z&sig=${signature}`;
    for (const options of [
      { accountUrl: blobEndpoint, sasToken },
      { accountUrl: `${blobEndpoint}?${sasToken}` },
    ]) {
      const store = await open({ prefix: uniquePrefix('sas'), ...options });
      const error = await rejection(store.put('x', 'x'));
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(error.message).toContain('shared access signature');
      expect(store.location).not.toContain(SECRET_TEXT);
      expect(everythingShown(error)).not.toContain(SECRET_TEXT);
    }
  });

  test('DefaultAzureCredential that finds no identity is AccessDeniedError listing the chain', async () => {
    // https, so the SDK agrees to send a bearer token; nothing listens there, and the credential
    // chain fails before any request: this machine has no Azure identity.
    const store = await open({ accountUrl: 'https://127.0.0.1:9/devstoreaccount1' });
    const error = await rejection(store.head('x'));
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toContain('DefaultAzureCredential');
    expect(error.message).toMatch(/az login/);
  }, 60_000);
});

describe('transient faults', () => {
  let proxy: FaultProxy;
  let store: BlobStore;
  beforeAll(async () => {
    proxy = await startFaultProxy(endpoint);
    // SharedKey signs the path, not the host, so the emulator accepts requests via the proxy.
    store = await tracked(
      open({
        prefix: uniquePrefix('faults'),
        accountUrl: `${proxy.endpoint}/devstoreaccount1`,
        connectionString,
      }),
    );
  });
  afterAll(() => proxy.stop());

  test.each([
    [503, 'ServerBusy', 'Operations per second is over the account limit.'],
    [500, 'InternalError', 'The server encountered an internal error.'],
    [500, 'OperationTimedOut', 'The operation could not be completed within the permitted time.'],
    [502, undefined, 'Bad Gateway'],
    [429, undefined, 'Too Many Requests'],
  ])('%i %s is TransientError on every call, with no SDK retry', async (status, code, message) => {
    await store.put('present', 'x');
    const body = code
      ? `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`
      : message;
    const headers: Record<string, string> = code ? { 'x-ms-error-code': code } : {};
    for (const call of [
      () => store.get('present'),
      () => store.head('present'),
      () => store.put('present', 'y', { ifNoneMatch: '*' }),
      () => store.list(''),
      () => store.delete('present'),
    ]) {
      const injectedBefore = proxy.stats.injected;
      proxy.inject({ status, count: 2, body, headers });
      const error = await rejection(call());
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain(String(status));
      // Exactly one request was made: the SDK did not retry (core does, with backoff).
      expect(proxy.stats.injected - injectedBefore).toBe(1);
      proxy.clear();
    }
  });

  test('a block that keeps failing is TransientError and publishes nothing', async () => {
    // Every block after the first fails, so the retries of a block run out (faults.test.ts: one
    // failure is retried).
    let blocks = 0;
    proxy.inject({
      status: 503,
      count: 100,
      headers: { 'x-ms-error-code': 'ServerBusy' },
      match: (request) =>
        request.method === 'PUT' && /comp=block(&|$)/.test(request.url ?? '') && ++blocks >= 2,
    });
    const big = Buffer.alloc(BLOCK_SIZE * 3, 3);
    const error = await rejection(
      store.put('blocks', Readable.from([big]), { size: big.length, ifNoneMatch: '*' }),
    );
    expect(error).toBeInstanceOf(TransientError);
    proxy.clear();
    expect(await store.head('blocks')).toBeUndefined();
  });

  test('a refused connection is TransientError that says to check the endpoint', async () => {
    const port = await closedPort();
    const dead = await open({
      accountUrl: `http://127.0.0.1:${port}/devstoreaccount1`,
      connectionString,
    });
    const error = await rejection(dead.put('x', 'x'));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('accountUrl');
  });

  test('a connection reset is TransientError', async () => {
    const server = net.createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const dead = await open({
        accountUrl: `http://127.0.0.1:${port}/devstoreaccount1`,
        connectionString,
      });
      const error = await rejection(dead.get('x'));
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('ECONNRESET');
    } finally {
      server.close();
    }
  });

  test('a download that keeps breaking off mid-body is TransientError from the stream', async () => {
    const content = randomBytes(256 * 1024);
    await store.put('truncated', content);
    // A proxy that forwards everything but cuts every GET body off after 1000 bytes.
    const server = http.createServer((request, response) => {
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: new URL(endpoint).port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          if (request.method !== 'GET') return void answer.pipe(response);
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (sent >= 1000) return;
            response.write(chunk.subarray(0, 1000 - sent));
            sent += chunk.length;
            if (sent >= 1000) setTimeout(() => response.socket?.destroy(), 20);
          });
        },
      );
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const cut = await open({
        prefix: store.location.split('/').slice(4).join('/').split('?')[0] as string,
        accountUrl: `http://127.0.0.1:${port}/devstoreaccount1`,
        connectionString,
      });
      const { body } = await cut.get('truncated');
      const error = await rejection(readAll(body));
      expect(error).toBeInstanceOf(TransientError);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
