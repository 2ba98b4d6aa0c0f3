import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../src/fault-proxy.js';

// The proxy in front of a tiny server that counts what reaches it.
let server: Server;
let target: string;
let arrived: string[] = [];
let proxy: FaultProxy;

beforeAll(async () => {
  server = createServer((request, response) => {
    arrived.push(`${request.method} ${request.url}`);
    request.resume();
    request.on('end', () => {
      const body = Buffer.alloc(1000, 7);
      const headers: Record<string, string> = { 'content-length': String(body.length) };
      if (request.url === '/redirect') headers.location = `${target}/session?id=1`;
      response.writeHead(200, headers);
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy = await startFaultProxy(target);
});
afterAll(async () => {
  await proxy.stop();
  server.closeAllConnections();
  server.close();
});

const get = (path: string) =>
  fetch(`${proxy.endpoint}${path}`).then(async (response) => ({
    status: response.status,
    body: Buffer.from(await response.arrayBuffer()),
    location: response.headers.get('location'),
  }));
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('fault proxy', () => {
  test('passes requests through and rewrites a Location that points at the server', async () => {
    arrived = [];
    const answer = await get('/redirect');
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(1000);
    expect(answer.location).toBe(`${proxy.endpoint}/session?id=1`);
    expect(arrived).toEqual(['GET /redirect']);
  });

  test('status answers without reaching the server; reset never reaches it either', async () => {
    arrived = [];
    proxy.inject({ status: 503, count: 1 });
    expect((await get('/a')).status).toBe(503);
    proxy.inject({ fault: 'reset' });
    expect(await failure(get('/b'))).toBeInstanceOf(Error);
    expect(arrived).toEqual([]);
  });

  test('a lost answer reaches the server, and the client sees a failure', async () => {
    arrived = [];
    proxy.inject({ fault: 'lost-answer' });
    expect(await failure(get('/written'))).toBeInstanceOf(Error);
    expect(arrived).toEqual(['GET /written']);
  });

  test('truncate sends headers and half the body, then drops the connection', async () => {
    proxy.inject({ fault: 'truncate' });
    const response = await fetch(`${proxy.endpoint}/t`);
    expect(response.headers.get('content-length')).toBe('1000');
    expect(await failure(response.arrayBuffer())).toBeInstanceOf(Error);
  });

  test('only matching requests get a rule’s fault', async () => {
    proxy.inject({ status: 500, match: (request) => request.url === '/only' });
    expect((await get('/other')).status).toBe(200);
    expect((await get('/only')).status).toBe(500);
  });

  test('random faults come at about the rate asked, and a seed replays them', async () => {
    const outcomes = async (seed: number) => {
      proxy.randomFaults({ rate: 0.3, seed, kinds: ['status'] });
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await get(`/r${i}`)).status);
      proxy.randomFaults(undefined);
      return statuses;
    };
    const first = await outcomes(42);
    expect(await outcomes(42)).toEqual(first);
    const failed = first.filter((status) => status !== 200).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
  });
});
