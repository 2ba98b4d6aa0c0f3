// A loopback proxy in front of fake-gcs-server that enforces what real Cloud Storage enforces and
// the emulator does not: about one mutation (create, update, delete) per second per object. A
// mutation of an object that was mutated less than `perObjectMs` ago is answered 429
// `rateLimitExceeded`, as GCS answers it, without reaching the emulator. Node built-ins only.
//
//   const proxy = await startRateLimitProxy(emulator.endpoint);
//   // point the client at proxy.endpoint; proxy.stats counts what passed and what was refused
//   await proxy.stop();
//
// Objects are told apart by bucket and name: uploads name theirs in the `name` query parameter
// (media and multipart uploads; resumable sessions continue at the emulator's own address), and
// updates and deletes in the path.
import http from 'node:http';

const RATE_LIMITED = JSON.stringify({
  error: {
    code: 429,
    message:
      'The object exceeded the rate limit for object mutation operations (create, update, and delete). Please reduce your request rate.',
    errors: [{ domain: 'usageLimits', reason: 'rateLimitExceeded', message: 'rate limit' }],
  },
});

/** The bucket/object a request mutates, or `undefined` when it mutates none. */
export function mutatedObject(method, rawUrl) {
  const url = new URL(rawUrl, 'http://proxy');
  const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (method === 'POST' && upload && url.searchParams.has('name')) {
    return `${decodeURIComponent(upload[1])}/${url.searchParams.get('name')}`;
  }
  const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
  if (object && ['DELETE', 'PATCH', 'PUT', 'POST'].includes(method)) {
    return `${decodeURIComponent(object[1])}/${decodeURIComponent(object[2])}`;
  }
  return undefined;
}

export async function startRateLimitProxy(target, { perObjectMs = 1000, host = '127.0.0.1' } = {}) {
  const upstream = new URL(target);
  const lastMutation = new Map();
  const stats = { requests: 0, mutations: 0, refused: 0 };
  const server = http.createServer((req, res) => {
    stats.requests++;
    const object = mutatedObject(req.method, req.url);
    if (object !== undefined) {
      const now = performance.now();
      const last = lastMutation.get(object);
      if (last !== undefined && now - last < perObjectMs) {
        stats.refused++;
        req.resume();
        res.writeHead(429, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(RATE_LIMITED);
        return;
      }
      lastMutation.set(object, now);
      stats.mutations++;
    }
    const forwarded = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(forwarded);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  return {
    endpoint: `http://${host}:${port}`,
    stats,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
