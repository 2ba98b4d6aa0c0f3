// Tiny fault-injecting HTTP proxy for emulator tests (Node built-ins only).
//
// None of the three emulators can be told to answer 503/500/429 on demand, so retry and
// throttling paths are tested by pointing the client at this proxy instead of the emulator:
//
//   const proxy = await startFaultProxy(emu.endpoint);
//   proxy.inject({ status: 503, count: 2, body: '<Error><Code>SlowDown</Code></Error>' });
//   // the next 2 matching requests get 503 without reaching the emulator, then pass through
//   await proxy.stop();
//
// Requests are forwarded unchanged (including the Host header, so SigV4 signatures made for
// the proxy address still verify in moto). Caveat: fake-gcs-server's resumable-upload
// Location header points at the emulator itself, so follow-up PUTs bypass the proxy.

import http from 'node:http';

export async function startFaultProxy(target, { host = '127.0.0.1' } = {}) {
  const t = new URL(target);
  const rules = []; // { status, count, body, headers, match(req) }
  const seen = { total: 0, injected: 0 };

  const server = http.createServer((req, res) => {
    seen.total++;
    const rule = rules.find((r) => r.count > 0 && (!r.match || r.match(req)));
    if (rule) {
      rule.count--;
      seen.injected++;
      req.resume(); // drain the request body
      res.writeHead(rule.status, { 'content-type': 'application/xml', ...rule.headers });
      res.end(rule.body ?? '');
      return;
    }
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();

  return {
    endpoint: `http://${host}:${port}`,
    port,
    stats: seen,
    /** Fail the next `count` (default 1) requests for which `match(req)` is true (default: all). */
    inject({ status = 503, count = 1, body, headers = {}, match } = {}) {
      rules.push({ status, count, body, headers, match });
    },
    clear() {
      rules.length = 0;
    },
    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}
