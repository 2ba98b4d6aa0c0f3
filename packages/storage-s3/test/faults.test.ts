import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { type FaultKind, type FaultProxy, startFaultProxy } from '@defstate/adapter-testkit';
import { AbortedError, type BlobStore, DefstateError, TransientError } from '@defstate/core';
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { S3BlobStore, S3StoreOptionsSchema } from '../src/index.js';
import {
  bytes,
  EMULATOR_ENV,
  isolatedAwsFiles,
  openTestStore,
  rawClient,
  rejection,
  uniquePrefix,
} from './helpers.js';

// A flaky network between the store and moto: every operation settles, typed, within its
// time-out; one failed part costs one part; abandoned uploads can be removed.

const MiB = 1024 * 1024;
const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');
const TIMEOUT_MS = 1500;
let proxy: FaultProxy;

beforeAll(async () => {
  for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
  vi.stubEnv('AWS_PROFILE', undefined);
  proxy = await startFaultProxy(endpoint);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.stop();
});

async function outcome(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    const result = await run();
    if (result && typeof result === 'object' && 'body' in result) {
      for await (const _ of (result as { body: AsyncIterable<unknown> }).body) {
        /* drain */
      }
    }
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

const operations: Array<[string, (store: BlobStore) => Promise<unknown>]> = [
  ['get', (store) => store.get('present')],
  ['head', (store) => store.head('present')],
  ['put', (store) => store.put('small', 'x'.repeat(2000))],
  ['list', (store) => store.list('')],
  ['delete', (store) => store.delete('present')],
];

describe('s3 through a flaky network', () => {
  for (const fault of ['truncate', 'stall', 'lost-answer', 'reset'] as FaultKind[]) {
    for (const [name, run] of operations) {
      test(`${fault}: ${name} fails with TransientError within its time-out`, async () => {
        const store = await openTestStore({
          endpoint: proxy.endpoint,
          prefix: uniquePrefix('faults'),
          requestTimeoutMs: TIMEOUT_MS,
        });
        try {
          await store.put('present', 'p'.repeat(3000));
          proxy.inject({ fault, count: 1000 });
          const { error, ms } = await outcome(() => run(store));
          proxy.clear();
          expect(error, `${fault} ${name}`).toBeInstanceOf(TransientError);
          expect(ms).toBeLessThan(TIMEOUT_MS * 3);
        } finally {
          proxy.clear();
          await store.close();
        }
      });
    }
  }

  test('the caller’s signal ends a stalled request with AbortedError', async () => {
    const store = await openTestStore({ endpoint: proxy.endpoint, prefix: uniquePrefix('abort') });
    try {
      await store.put('present', 'p');
      proxy.inject({ fault: 'stall', count: 1000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const { error, ms } = await outcome(() =>
        store.head('present', { signal: controller.signal }),
      );
      expect(error).toBeInstanceOf(AbortedError);
      expect(ms).toBeLessThan(5000);
    } finally {
      proxy.clear();
      await store.close();
    }
  });

  test('every error under random faults is typed, and the store works again after', async () => {
    const store = await openTestStore({
      endpoint: proxy.endpoint,
      prefix: uniquePrefix('random'),
      requestTimeoutMs: TIMEOUT_MS,
    });
    try {
      await store.put('present', 'p'.repeat(3000));
      proxy.randomFaults({ rate: 0.5, seed: 11 });
      for (let round = 0; round < 6; round++) {
        for (const [name, run] of operations.filter(([n]) => n !== 'delete')) {
          const { error } = await outcome(() => run(store));
          if (error !== undefined) expect(error, name).toBeInstanceOf(DefstateError);
        }
      }
      proxy.clear();
      expect((await store.head('present'))?.size).toBe(3000);
    } finally {
      proxy.clear();
      await store.close();
    }
  });
});

describe('multipart uploads', () => {
  test('a failed part is sent again on its own; the upload does not restart', async () => {
    const store = await openTestStore({ endpoint: proxy.endpoint, prefix: uniquePrefix('parts') });
    const partRequests: string[] = [];
    try {
      // The second part meets a reset, then a 503; every other request goes through. The first
      // rule never matches: it only records every part request that reaches the proxy.
      proxy.inject({
        count: 1000,
        match: (request) => {
          if (request.method === 'PUT' && /[?&]partNumber=/.test(request.url ?? '')) {
            partRequests.push(request.url ?? '');
          }
          return false;
        },
      });
      const isPart = (request: { method?: string; url?: string }) =>
        request.method === 'PUT' && /[?&]partNumber=2(&|$)/.test(request.url ?? '');
      proxy.inject({ fault: 'reset', match: isPart });
      proxy.inject({ status: 503, match: isPart });
      const size = 20 * MiB;
      await store.put('large', bytes(size, 3));
      expect((await store.head('large'))?.size).toBe(size);
      // 3 parts of 8 MiB; the second was sent three times. Nothing else was sent twice.
      const numbers = partRequests.map((url) => /partNumber=(\d+)/.exec(url)?.[1]).sort();
      expect(numbers).toEqual(['1', '2', '2', '2', '3']);
    } finally {
      proxy.clear();
      await store.close();
    }
  });

  test('removeAbandonedUploads aborts the uploads under the store’s prefix, and no others', async () => {
    const prefix = uniquePrefix('abandoned');
    const store = await openTestStore({ endpoint, prefix });
    const client = rawClient(endpoint);
    try {
      const start = (key: string) =>
        client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await start(`${prefix}/states/a`);
      await start(`${prefix}/states/b`);
      await start(`${prefix}-sibling/states/c`);
      const open = async (under: string) =>
        (
          (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: under })))
            .Uploads ?? []
        ).length;
      // moto dates every upload 2010-11-10, so only the prefix can be checked here; ages are
      // checked against a server that reports them (below).
      expect(await store.removeAbandonedUploads({ olderThanMs: 0 })).toBe(2);
      expect(await open(`${prefix}/`)).toBe(0);
      expect(await open(`${prefix}-sibling/`)).toBe(1);
    } finally {
      client.destroy();
      await store.close();
    }
  });
});

describe('removeAbandonedUploads judges age by the server’s clock', () => {
  test('a local clock a day fast aborts nothing younger than the grace period', async () => {
    // The server's clock is a day behind this machine's; its uploads are 2 h and 10 min old.
    const serverNow = Date.now() - 24 * 3_600_000;
    const aborted: string[] = [];
    const server = createServer((request, response) => {
      if (request.method === 'DELETE') {
        aborted.push(new URL(request.url ?? '', 'http://x').pathname);
        response.writeHead(204).end();
        return;
      }
      const upload = (key: string, ageMs: number) =>
        `<Upload><Key>${key}</Key><UploadId>id-${key.replaceAll('/', '-')}</UploadId><Initiated>${new Date(serverNow - ageMs).toISOString()}</Initiated></Upload>`;
      response.writeHead(200, {
        'content-type': 'application/xml',
        date: new Date(serverNow).toUTCString(),
      });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>${upload('p/states/old', 2 * 3_600_000)}${upload('p/states/young', 600_000)}</ListMultipartUploadsResult>`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = await openTestStore({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      prefix: 'p',
    });
    try {
      expect(await store.removeAbandonedUploads({ olderThanMs: 3_600_000 })).toBe(1);
      expect(aborted).toEqual([`/${bucket}/p/states/old`]);
    } finally {
      await store.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('credentials and endpoint', () => {
  test('instance metadata that does not answer is a TransientError, not access denied', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const files = await isolatedAwsFiles();
    try {
      const env = {
        ...files.env,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      };
      for (const name of [
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_EC2_METADATA_DISABLED',
      ])
        vi.stubEnv(name, undefined);
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
      const store = await S3BlobStore.open(
        S3StoreOptionsSchema.parse({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true }),
        process.env,
      );
      try {
        const error = await rejection(store.head('x'));
        expect(error).toBeInstanceOf(TransientError);
        expect((error as Error).message).toMatch(
          /did not answer in time \(instance metadata time-out\)/,
        );
      } finally {
        await store.close();
      }
    } finally {
      for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
      vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', undefined);
      vi.stubEnv('AWS_CONFIG_FILE', undefined);
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', undefined);
      silent.closeAllConnections();
      silent.close();
      await files.cleanup();
    }
  });

  test('endpoint is the configured one without secrets, else AWS’s regional endpoint', async () => {
    const store = await openTestStore({ endpoint: `${endpoint}/` });
    expect(store.endpoint).toBe(endpoint);
    await store.close();
    const aws = await openTestStore({ endpoint: endpoint });
    expect(aws.endpoint).toBe(endpoint);
    await aws.close();
    const regional = await S3BlobStore.open(
      S3StoreOptionsSchema.parse({ bucket, region: 'eu-west-3' }),
      process.env,
    );
    expect(regional.endpoint).toBe('https://s3.eu-west-3.amazonaws.com');
    await regional.close();
  });
});
