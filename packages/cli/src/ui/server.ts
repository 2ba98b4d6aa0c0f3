import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BlobStore,
  DefstateError,
  type Project,
  readPins,
  refreshState,
  rollbackState,
  StateNotFoundError,
  UsageError,
} from '@defstate/core';
import { redactDocument } from '../output/redact.js';
import { readPageHistory } from './key-history.js';
import { ASSET_TYPES, type AssetName, readAsset, renderPage } from './page.js';
import { requestGuard } from './request-guard.js';
import { collectStatusView, viewError } from './status-view.js';

/**
 * The HTTP side of `defstate ui`: the page, its two assets, and a small JSON API the page polls.
 * Reads go through the same core calls as the commands; writes (refresh, rollback) exist only
 * with `allowWrites`, one at a time, behind the checks in request-guard.ts, and only for a browser
 * that opened the address with the secret (`url`), which only the terminal shows.
 */
export interface UiServerOptions {
  project: Project;
  openStore: () => Promise<BlobStore>;
  host: string;
  port: number;
  maxAgeMs?: number;
  allowWrites: boolean;
  /** How often the page re-reads the status, in ms. */
  pollMs?: number;
  /** Told of each write the page makes or tries, for the terminal. */
  onWrite?: (event: { ok: boolean; line: string }) => void;
}

export interface UiServer {
  /** The address to open; with `allowWrites` it carries the write secret as `?token=…`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

const MAX_BODY_BYTES = 4096;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const token = randomBytes(32).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  let writing = false;
  let guard = requestGuard({ host: options.host, port: options.port, token, secret });

  const routes: Record<string, (request: IncomingMessage) => Promise<unknown>> = {
    'GET /api/status': () =>
      collectStatusView(options.project, {
        openStore: options.openStore,
        maxAgeMs: options.maxAgeMs,
        writable: options.allowWrites,
        signal: controller.signal,
      }),
    'GET /api/history': (request) => history(request),
    'POST /api/refresh': (request) => write(request, refresh, 'refresh'),
    'POST /api/rollback': (request) => write(request, rollback, 'rollback'),
  };

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    try {
      if (!guard.hostAllowed(request)) {
        throw new HttpError(421, 'HOST', 'Open this page by the address `defstate ui` printed.');
      }
      if (url.pathname === '/' || url.pathname === '/index.html') {
        ensureMethod(request, 'GET');
        const offered = url.searchParams.get('token');
        if (options.allowWrites && offered !== null && guard.isWriteSecret(offered)) {
          // The cookie now holds the secret: take it out of the address bar and the history.
          response.writeHead(303, {
            ...SECURITY_HEADERS,
            location: '/',
            'set-cookie': guard.writeCookie(),
            'content-length': 0,
          });
          return response.end();
        }
        const granted = options.allowWrites && guard.holdsWriteCookie(request);
        // The page arrives with the keys in it: its first paint shows them, not a spinner.
        const view = await collectStatusView(options.project, {
          openStore: options.openStore,
          maxAgeMs: options.maxAgeMs,
          writable: granted,
          signal: controller.signal,
        });
        const page = await renderPage({
          mode: 'live',
          view,
          writable: granted,
          locked: options.allowWrites && !granted,
          token,
          pollMs: options.pollMs,
        });
        return send(response, 200, 'text/html; charset=utf-8', page);
      }
      const asset = /^\/assets\/(ui\.(?:js|css))$/.exec(url.pathname)?.[1] as AssetName | undefined;
      if (asset) {
        ensureMethod(request, 'GET');
        return send(response, 200, ASSET_TYPES[asset], await readAsset(asset));
      }
      const route = routes[`${request.method} ${url.pathname}`];
      if (!route) {
        const known = Object.keys(routes).some((name) => name.endsWith(` ${url.pathname}`));
        throw known
          ? new HttpError(405, 'METHOD', `${request.method} is not allowed here.`)
          : new HttpError(404, 'NOT_FOUND', `Nothing at ${url.pathname}.`);
      }
      const body = await route(request);
      return send(
        response,
        200,
        'application/json; charset=utf-8',
        JSON.stringify(redactDocument(body)),
      );
    } catch (error) {
      const [status, detail] =
        error instanceof HttpError
          ? [error.status, { code: error.code, message: error.message }]
          : [statusFor(error), viewError(error)];
      return send(
        response,
        status,
        'application/json; charset=utf-8',
        JSON.stringify(redactDocument({ error: detail })),
      );
    }
  });

  async function history(request: IncomingMessage) {
    const key = new URL(request.url ?? '/', 'http://localhost').searchParams.get('key');
    const component = options.project.components.find((candidate) => candidate.key === key);
    if (!key || !component) throw new HttpError(404, 'UNKNOWN_KEY', `No declared key "${key}".`);
    const pins = await readPins(options.project.root).catch(() => undefined);
    return readPageHistory(options.project, key, {
      openStore: options.openStore,
      pins,
      signal: controller.signal,
    });
  }

  async function write(
    request: IncomingMessage,
    action: (body: Record<string, unknown>) => Promise<string>,
    what: string,
  ) {
    if (!options.allowWrites) {
      throw new HttpError(
        403,
        'READ_ONLY',
        'This page is read-only: start `defstate ui --allow-writes`.',
      );
    }
    const refusal = guard.writeRefusal(request);
    if (refusal) {
      options.onWrite?.({ ok: false, line: `${what} refused: ${refusal}.` });
      throw new HttpError(403, 'FORBIDDEN', `Refused: ${refusal}.`);
    }
    const body = await readJsonBody(request);
    if (writing) throw new HttpError(409, 'BUSY', 'Another change is still running; try again.');
    writing = true;
    try {
      const message = await action(body);
      options.onWrite?.({ ok: true, line: message });
      return { ok: true, message };
    } catch (error) {
      const subject = typeof body.key === 'string' ? `${what} of ${body.key}` : what;
      const reason = error instanceof Error ? error.message : String(error);
      options.onWrite?.({ ok: false, line: `${subject}: ${reason}` });
      throw error;
    } finally {
      writing = false;
    }
  }

  async function refresh(body: Record<string, unknown>): Promise<string> {
    const key = declaredKey(body.key);
    const report = await refreshState({
      project: options.project,
      keys: [key],
      openStore: options.openStore,
      signal: controller.signal,
    });
    const result = report.results[0];
    if (!result || result.status === 'failed') {
      throw result?.error ?? new Error(`refreshing "${key}" gave no result`);
    }
    return `${key}: ${result.status}${result.info ? `, version ${result.info.version}` : ''}.`;
  }

  async function rollback(body: Record<string, unknown>): Promise<string> {
    const key = declaredKey(body.key, 'versioned');
    if (typeof body.version !== 'string' || body.version === '') {
      throw new HttpError(400, 'BAD_REQUEST', 'Field "version" must name a version.');
    }
    const store = await options.openStore();
    const result = await rollbackState(store, key, body.version, { signal: controller.signal });
    return `${key}: rolled back from ${result.previous?.version ?? 'nothing'} to ${result.current.version}.`;
  }

  function declaredKey(value: unknown, management?: 'versioned'): string {
    const component = options.project.components.find((candidate) => candidate.key === value);
    if (typeof value !== 'string' || !component) {
      throw new HttpError(400, 'UNKNOWN_KEY', 'Field "key" must name a declared key.');
    }
    if (management && component.management !== management) {
      throw new HttpError(
        400,
        'NOT_VERSIONED',
        `"${value}" is local: only versioned keys roll back.`,
      );
    }
    return value;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') {
      throw new UsageError(`Port ${options.port} on ${options.host} is already in use.`, {
        hint: 'pick another with --port, or --port 0 for any free one',
      });
    }
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
      throw new UsageError(`Cannot listen on ${options.host}: no such local address.`, {
        hint: 'check --host (default 127.0.0.1)',
      });
    }
    throw error;
  });
  const { port } = server.address() as AddressInfo;
  guard = requestGuard({ host: options.host, port, token, secret });
  // A wildcard address is not one to browse to; this machine is reachable through it, though.
  const browsable = WILDCARD_HOSTS.has(options.host) ? '127.0.0.1' : options.host;
  const shownHost = browsable.includes(':') ? `[${browsable}]` : browsable;
  return {
    url: `http://${shownHost}:${port}/${options.allowWrites ? `?token=${secret}` : ''}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        controller.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function ensureMethod(request: IncomingMessage, method: string) {
  if (request.method !== method && !(method === 'GET' && request.method === 'HEAD')) {
    throw new HttpError(405, 'METHOD', `${request.method} is not allowed here.`);
  }
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, 'TOO_LARGE', 'The request body is too large.');
    chunks.push(chunk);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (body && typeof body === 'object' && !Array.isArray(body)) return body;
  } catch {}
  throw new HttpError(400, 'BAD_REQUEST', 'The body must be a JSON object.');
}

function statusFor(error: unknown): number {
  if (error instanceof StateNotFoundError) return 404;
  if (error instanceof UsageError) return 400;
  if (error instanceof DefstateError) return 502;
  return 500;
}

function send(response: ServerResponse, status: number, type: string, body: string) {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
