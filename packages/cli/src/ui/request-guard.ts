import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who may talk to `defstate ui`. The server listens on this machine only, yet any web page the
 * user opens could still try to reach it, so:
 * - every request must name this server in `Host` by an IP address, `localhost` or `--host`:
 *   a foreign domain re-pointed at 127.0.0.1 (DNS rebinding) is refused, so it cannot read the
 *   page or its token;
 * - a write must carry the write cookie, which only a browser that opened the address printed in
 *   the terminal (`/?token=…`) holds: the page itself is readable by any process on this machine,
 *   so a secret in it would not stop them; the terminal is the user's own. The cookie is HttpOnly
 *   and SameSite=Strict, so no script reads it and no other site's request carries it;
 * - and, as before, be a same-origin JSON POST carrying the token embedded in the page (given only
 *   to a browser holding the cookie): a form or script on another origin cannot send the header,
 *   learn the token, or pass the `Origin` check.
 */
export interface RequestGuard {
  hostAllowed(request: IncomingMessage): boolean;
  /** Whether the request carries the write cookie (set from the printed address). */
  holdsWriteCookie(request: IncomingMessage): boolean;
  /** Whether `given` is the secret of the printed address. */
  isWriteSecret(given: string | null): boolean;
  /** The `Set-Cookie` value that gives this browser the right to write. */
  writeCookie(): string;
  /** Why a write is refused, or `undefined` when it may go ahead. */
  writeRefusal(request: IncomingMessage): string | undefined;
}

export const TOKEN_HEADER = 'x-defstate-token';

export function requestGuard(options: {
  host: string;
  port: number;
  /** Embedded in the page for a browser that holds the cookie; sent back in TOKEN_HEADER. */
  token: string;
  /** Printed in the terminal's address; set as the write cookie. */
  secret: string;
}): RequestGuard {
  // Cookies do not tell ports apart: each `defstate ui` names its own.
  const cookieName = `defstate-ui-${options.port}`;
  const holdsWriteCookie = (request: IncomingMessage) =>
    sameSecret(cookieValue(request.headers.cookie, cookieName), options.secret);
  const hostAllowed = (request: IncomingMessage) => {
    const parsed = parseHost(request.headers.host);
    if (!parsed || parsed.port !== options.port) return false;
    const name = parsed.hostname.toLowerCase();
    return name === 'localhost' || isIP(name) !== 0 || name === options.host.toLowerCase();
  };
  return {
    hostAllowed,
    holdsWriteCookie,
    isWriteSecret: (given) => sameSecret(given ?? undefined, options.secret),
    writeCookie: () => `${cookieName}=${options.secret}; Path=/; HttpOnly; SameSite=Strict`,
    writeRefusal(request) {
      if (request.method !== 'POST') return 'writes must be POST requests';
      if (!holdsWriteCookie(request)) {
        return 'this browser has not opened the address `defstate ui` printed (with ?token=…)';
      }
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
      if (!sameSecret(typeof token === 'string' ? token : undefined, options.token)) {
        return 'the page token is missing or wrong: reload the page';
      }
      return undefined;
    },
  };
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One cookie's value from a `Cookie` header (`a=1; b=2`), or `undefined`. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/** `127.0.0.1:4777`, `[::1]:4777`, `localhost:4777` → name and port (80 when absent). */
function parseHost(header: string | undefined): { hostname: string; port: number } | undefined {
  if (!header) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!match?.[1]) return undefined;
  const hostname = match[1].replace(/^\[(.*)\]$/, '$1');
  return { hostname, port: match[2] ? Number(match[2]) : 80 };
}
