import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { guardBody } from '../../src/adapter/index.js';
import { AbortedError, DefstateError, StorageError, TransientError } from '../../src/index.js';
import { ensureBuilt, runNode } from '../helpers.js';

async function read(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const failure = (body: Readable) =>
  read(body).then(
    () => undefined,
    (error: unknown) => error,
  );

describe('guardBody', () => {
  test('passes a whole body through unchanged', async () => {
    const body = guardBody(Readable.from([Buffer.from('abc'), Buffer.from('def')]), {
      what: 'x',
      expectedBytes: 6,
    });
    expect((await read(body)).toString()).toBe('abcdef');
  });

  test('a body that ends short of its length is a TransientError', async () => {
    const error = await failure(
      guardBody(Readable.from([Buffer.from('abc')]), { what: 'gs://b/x', expectedBytes: 10 }),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('gs://b/x ended after 3 of 10 bytes');
  });

  test('a body longer than announced is a TransientError too', async () => {
    const error = await failure(
      guardBody(Readable.from([Buffer.from('abcdef')]), { what: 'x', expectedBytes: 4 }),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('had 6 bytes where 4 were announced');
  });

  test('a source closed without ending (no error at all) is a TransientError', async () => {
    const source = new PassThrough();
    const body = guardBody(source, { what: 'x' });
    source.write('partial');
    setTimeout(() => source.destroy(), 10);
    expect(await failure(body)).toBeInstanceOf(TransientError);
  });

  test('a raw source error becomes typed: resets transient, the rest StorageError', async () => {
    const reset = new PassThrough();
    const resetBody = guardBody(reset, { what: 'x' });
    reset.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(await failure(resetBody)).toBeInstanceOf(TransientError);

    const odd = new PassThrough();
    const oddBody = guardBody(odd, { what: 'x' });
    odd.destroy(new Error('something else'));
    expect(await failure(oddBody)).toBeInstanceOf(StorageError);
  });

  test('the adapter’s translation is used, and a non-typed translation is still typed', async () => {
    const source = new PassThrough();
    const body = guardBody(source, {
      what: 'x',
      translate: () => new Error('still raw'),
    });
    source.destroy(new Error('boom'));
    expect(await failure(body)).toBeInstanceOf(DefstateError);
  });

  test('a body that gets no bytes while the reader waits fails as stalled', async () => {
    const source = new PassThrough();
    const body = guardBody(source, { what: 'x', stallTimeoutMs: 50 });
    source.write('a');
    const error = await failure(body);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/stalled: no data for 0\.05 s after 1 bytes/);
    expect(source.destroyed).toBe(true);
  });

  test('a slow reader is not a stall', async () => {
    const source = Readable.from([Buffer.alloc(4096, 1)]);
    const body = guardBody(source, { what: 'x', stallTimeoutMs: 30, expectedBytes: 4096 });
    await delay(120);
    expect((await read(body)).length).toBe(4096);
  });

  test('the caller’s signal ends it with AbortedError', async () => {
    const controller = new AbortController();
    const source = new PassThrough();
    const body = guardBody(source, { what: 'x', signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    expect(await failure(body)).toBeInstanceOf(AbortedError);
    expect(source.destroyed).toBe(true);
  });

  test('a reader that stops early releases the source', async () => {
    const source = new PassThrough();
    const body = guardBody(source, { what: 'x' });
    source.write('abc');
    body.destroy();
    await delay(5);
    expect(source.destroyed).toBe(true);
  });

  describe('over HTTP', () => {
    const servers: Array<ReturnType<typeof createServer>> = [];
    afterEach(() => {
      for (const server of servers.splice(0)) server.close();
    });

    test('a response cut off before its Content-Length is a TransientError', async () => {
      const server = createServer((_request, response) => {
        response.writeHead(200, { 'content-length': '1000' });
        response.write(Buffer.alloc(400));
        setTimeout(() => response.socket?.destroy(), 20);
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const { request } = await import('node:http');
      const response = await new Promise<import('node:http').IncomingMessage>((resolve) =>
        request({ host: '127.0.0.1', port }, resolve).end(),
      );
      const error = await failure(guardBody(response, { what: 'x', expectedBytes: 1000 }));
      expect(error).toBeInstanceOf(TransientError);
    });
  });

  test('a stalled body with nothing else alive fails typed instead of Node exiting with 13', async () => {
    await ensureBuilt();
    const stdout = await runNode([
      fileURLToPath(new URL('../fixtures/unsettled-adapter-io.mjs', import.meta.url)),
    ]);
    expect(stdout.trim().split('\n')).toEqual(['body TRANSIENT', 'request TRANSIENT']);
  });
});
