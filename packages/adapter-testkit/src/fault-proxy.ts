/**
 * A fault-injecting HTTP proxy on 127.0.0.1, put between an adapter and its emulator or server, so
 * the conformance kit (and an adapter's own tests) can check what a flaky network does to it:
 *
 * - `reset`: the connection is destroyed before the request reaches the server;
 * - `lost-answer`: the server handles the request, the answer never arrives (connection reset),
 *   so a write may have happened although the client saw a failure;
 * - `truncate`: the answer's headers and half its body arrive, then the connection drops;
 * - `status`: an error status (503 by default) without reaching the server;
 * - `delay`: the request is forwarded after a pause;
 * - `stall`: headers and half the body arrive, then nothing, with the connection left open.
 *
 * Faults are injected by rule (`inject`: the next `count` matching requests) or at random
 * (`randomFaults`: a rate and a seeded generator, so a failing run can be replayed). Requests go
 * through unchanged, `Host` included, so SigV4 and SharedKey signatures still verify; a
 * `Location` header that points at the server is rewritten to point at the proxy, so resumable
 * upload sessions (fake-gcs-server) stay behind it too.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind = 'reset' | 'lost-answer' | 'truncate' | 'status' | 'delay' | 'stall';

export const FAULT_KINDS: readonly FaultKind[] = [
  'reset',
  'lost-answer',
  'truncate',
  'status',
  'delay',
  'stall',
];

export interface FaultRule {
  /** What goes wrong (default `status`). */
  fault?: FaultKind;
  /** For `status`: the status to answer (default 503). */
  status?: number;
  /** For `status`: the answer's body and headers. */
  body?: string;
  headers?: Record<string, string>;
  /** How many matching requests get the fault (default 1). */
  count?: number;
  /** Only requests for which this is true (default: all). */
  match?: (request: IncomingMessage) => boolean;
  /** For `delay`: the pause in ms (default 200). */
  delayMs?: number;
}

export interface RandomFaults {
  /** Share of requests that get a fault, 0 to 1. */
  rate: number;
  /** Which faults to draw from (default: all but `stall`, which needs a client timeout). */
  kinds?: readonly FaultKind[];
  /** Only requests for which this is true. */
  match?: (request: IncomingMessage) => boolean;
  /** Seed of the generator, so a run can be replayed (default: random, see `stats.seed`). */
  seed?: number;
  /** Statuses `status` faults draw from (default 500, 502, 503, 429). */
  statuses?: readonly number[];
  /** Longest `delay` in ms (default 300). */
  maxDelayMs?: number;
}

export interface FaultProxyStats {
  total: number;
  injected: number;
  byKind: Record<FaultKind, number>;
  /** The seed of the current random faults. */
  seed: number | undefined;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the client here instead of at the server. */
  readonly endpoint: string;
  readonly port: number;
  readonly stats: FaultProxyStats;
  inject(rule?: FaultRule): void;
  /** Faults at random from now on; `undefined` stops them. */
  randomFaults(plan: RandomFaults | undefined): void;
  /** Drops every rule and random plan: requests pass through again. */
  clear(): void;
  stop(): Promise<void>;
}

const DEFAULT_RANDOM_KINDS: readonly FaultKind[] = [
  'reset',
  'lost-answer',
  'truncate',
  'status',
  'delay',
];

/** A small seeded generator (mulberry32): the same seed gives the same faults. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  fault: FaultKind;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export async function startFaultProxy(
  target: string,
  { host = '127.0.0.1' }: { host?: string } = {},
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: Array<Required<Pick<FaultRule, 'count'>> & FaultRule> = [];
  let random: { plan: RandomFaults; next: () => number } | undefined;
  const stats: FaultProxyStats = {
    total: 0,
    injected: 0,
    byKind: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    seed: undefined,
  };
  const agent = new Agent({ keepAlive: true });
  const held = new Set<Socket>();
  let origin = '';

  const choose = (request: IncomingMessage): Planned | undefined => {
    const rule = rules.find((r) => r.count > 0 && (!r.match || r.match(request)));
    if (rule) {
      rule.count--;
      return {
        fault: rule.fault ?? 'status',
        status: rule.status,
        body: rule.body,
        headers: rule.headers,
        delayMs: rule.delayMs,
      };
    }
    if (!random || (random.plan.match && !random.plan.match(request))) return undefined;
    if (random.next() >= random.plan.rate) return undefined;
    const kinds = random.plan.kinds ?? DEFAULT_RANDOM_KINDS;
    const fault = kinds[Math.floor(random.next() * kinds.length)] ?? 'status';
    const statuses = random.plan.statuses ?? [500, 502, 503, 429];
    return {
      fault,
      status: statuses[Math.floor(random.next() * statuses.length)],
      delayMs: Math.floor(random.next() * (random.plan.maxDelayMs ?? 300)),
    };
  };

  const forward = (
    request: IncomingMessage,
    response: ServerResponse,
    onAnswer: (answer: IncomingMessage) => void,
  ) => {
    const outgoing = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      onAnswer,
    );
    outgoing.on('error', (error) => {
      if (!response.headersSent) {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(`fault proxy: upstream failed: ${error.message}`);
      } else response.destroy();
    });
    request.on('aborted', () => outgoing.destroy());
    response.on('close', () => {
      if (!response.writableFinished) outgoing.destroy();
    });
    request.pipe(outgoing);
  };

  const relayHeaders = (answer: IncomingMessage, response: ServerResponse) => {
    const headers = { ...answer.headers };
    const location = headers.location;
    if (typeof location === 'string' && location.startsWith(upstream.origin)) {
      headers.location = origin + location.slice(upstream.origin.length);
    }
    response.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
  };

  /** Headers and the first half of the body, then `end` (drop or hold the connection). */
  const cutShort = (
    answer: IncomingMessage,
    response: ServerResponse,
    end: (socket: Socket) => void,
  ) => {
    const socket = response.socket as Socket;
    const length = Number(answer.headers['content-length'] ?? Number.NaN);
    if (!(length > 1) && answer.headers['transfer-encoding'] !== 'chunked') {
      // Nothing to cut in half: the answer is lost whole.
      answer.resume();
      end(socket);
      return;
    }
    relayHeaders(answer, response);
    let budget = length > 1 ? Math.floor(length / 2) : Number.POSITIVE_INFINITY;
    let cut = false;
    answer.on('data', (chunk: Buffer) => {
      if (cut) return;
      const part = chunk.subarray(0, Math.min(chunk.length, budget));
      budget -= part.length;
      if (part.length > 0) response.write(part);
      if (budget <= 0 || !Number.isFinite(length)) {
        cut = true;
        answer.resume();
        // Let the bytes written so far leave before the connection goes.
        setTimeout(() => end(socket), 20);
      }
    });
    answer.on('end', () => {
      if (!cut) end(socket);
    });
  };

  const server = createServer((request, response) => {
    stats.total++;
    const planned = choose(request);
    if (!planned) {
      forward(request, response, (answer) => {
        relayHeaders(answer, response);
        answer.pipe(response);
      });
      return;
    }
    stats.injected++;
    stats.byKind[planned.fault]++;
    const socket = request.socket;
    switch (planned.fault) {
      case 'reset':
        socket.destroy();
        return;
      case 'status':
        request.resume();
        response.writeHead(planned.status ?? 503, {
          'content-type': 'text/plain',
          ...planned.headers,
        });
        response.end(planned.body ?? 'fault proxy: injected failure');
        return;
      case 'delay':
        setTimeout(
          () =>
            socket.destroyed
              ? undefined
              : forward(request, response, (answer) => {
                  relayHeaders(answer, response);
                  answer.pipe(response);
                }),
          planned.delayMs ?? 200,
        );
        return;
      case 'lost-answer':
        forward(request, response, (answer) => {
          answer.resume();
          answer.on('end', () => socket.destroy());
        });
        return;
      case 'truncate':
        forward(request, response, (answer) => cutShort(answer, response, (s) => s.destroy()));
        return;
      case 'stall':
        forward(request, response, (answer) =>
          cutShort(answer, response, (s) => {
            held.add(s);
            s.once('close', () => held.delete(s));
          }),
        );
        return;
    }
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${host}:${port}`;

  return {
    endpoint: origin,
    port,
    stats,
    inject(rule: FaultRule = {}) {
      rules.push({ ...rule, count: rule.count ?? 1 });
    },
    randomFaults(plan) {
      if (!plan) {
        random = undefined;
        stats.seed = undefined;
        return;
      }
      const seed = plan.seed ?? Math.floor(Math.random() * 2 ** 31);
      stats.seed = seed;
      random = { plan, next: seededRandom(seed) };
    },
    clear() {
      rules.length = 0;
      random = undefined;
      stats.seed = undefined;
    },
    stop() {
      rules.length = 0;
      random = undefined;
      for (const socket of held) socket.destroy();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}
