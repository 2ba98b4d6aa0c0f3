import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who may talk to `defstate ui`. The server listens on this machine only, yet any web page the
 * user opens could still try to reach it, so:
 * - every request must name this server in `Host` by an IP address, `localhost` or `--host`:
 *   a foreign domain re-pointed at 127.0.0.1 (DNS rebinding) is refused, so it cannot read the
 *   page or its token;
 * - a write must be a same-origin JSON POST carrying the token embedded in this process's page:
 *   a form or script on another origin cannot send the header, learn the token, or pass the
 *   `Origin` check.
 */
export interface RequestGuard {
  hostAllowed(request: IncomingMessage): boolean;
  /** Why a write is refused, or `undefined` when it may go ahead. */
  writeRefusal(request: IncomingMessage): string | undefined;
}

export const TOKEN_HEADER = 'x-defstate-token';

export function requestGuard(options: { host: string; port: number; token: string }): RequestGuard {
  const expected = Buffer.from(options.token);
  const hostAllowed = (request: IncomingMessage) => {
    const parsed = parseHost(request.headers.host);
    if (!parsed || parsed.port !== options.port) return false;
    const name = parsed.hostname.toLowerCase();
    return name === 'localhost' || isIP(name) !== 0 || name === options.host.toLowerCase();
  };
  return {
    hostAllowed,
    writeRefusal(request) {
      if (request.method !== 'POST') return 'writes must be POST requests';
      const origin = request.headers.origin;
      if (!origin || origin !== `http://${request.headers.host}`) {
        return 'the request does not come from this page (Origin)';
      }
      const site = request.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin') {
        return 'the request does not come from this page (Sec-Fetch-Site)';
      }
      if (!request.headers['content-type']?.startsWith('application/json')) {
        return 'the body must be JSON (Content-Type: application/json)';
      }
      const token = request.headers[TOKEN_HEADER];
      const given = Buffer.from(typeof token === 'string' ? token : '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return 'the page token is missing or wrong: reload the page';
      }
      return undefined;
    },
  };
}

/** `127.0.0.1:4777`, `[::1]:4777`, `localhost:4777` → name and port (80 when absent). */
function parseHost(header: string | undefined): { hostname: string; port: number } | undefined {
  if (!header) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!match?.[1]) return undefined;
  const hostname = match[1].replace(/^\[(.*)\]$/, '$1');
  return { hostname, port: match[2] ? Number(match[2]) : 80 };
}
