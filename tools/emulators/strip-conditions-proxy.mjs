// A loopback proxy that forwards every request to its target with the conditional headers
// (`If-Match`, `If-None-Match`) removed: what a misconfigured S3-compatible gateway or proxy does.
// Writes through it always succeed, so a store behind it cannot keep two writers apart; the
// versioned protocol must notice and refuse it. Node built-ins only.
//
//   const proxy = await startStripConditionsProxy(emulator.endpoint);
//   // point the client at proxy.endpoint
//   await proxy.stop();
import http from 'node:http';

const CONDITIONAL = new Set(['if-match', 'if-none-match']);

export async function startStripConditionsProxy(target, { host = '127.0.0.1' } = {}) {
  const upstream = new URL(target);
  const stats = { requests: 0, stripped: 0 };
  const server = http.createServer((req, res) => {
    stats.requests++;
    const headers = { ...req.headers };
    for (const name of Object.keys(headers)) {
      if (CONDITIONAL.has(name.toLowerCase())) {
        delete headers[name];
        stats.stripped++;
      }
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
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
