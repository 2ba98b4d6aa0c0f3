// Start a local storage emulator (S3 = moto, GCS = fake-gcs-server, Azure = Azurite blob)
// on 127.0.0.1 with a free port. No dependencies: Node built-ins only.
//
//   import { startEmulator, emulatorEnv } from '../../tools/emulators/start.mjs';
//   const emu = await startEmulator('s3');   // { kind, endpoint, port, pid, stop() }
//   Object.assign(process.env, emulatorEnv('s3', emu.endpoint));
//   ...; await emu.stop();
//
// CLI: `node tools/emulators/start.mjs s3|gcs|azure` prints one JSON line
// ({kind, endpoint, port, pid, env}) and runs until SIGTERM/SIGINT.
//
// Binaries come from `bash tools/emulators/install.sh` (pinned versions, see README.md).

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const INSTALL_HINT =
  'if the emulator is missing or not the pinned version, run `bash tools/emulators/install.sh` (from the repo root)';

// Azurite's fixed, publicly documented development account (not a secret).
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export const KINDS = ['s3', 'gcs', 'azure'];

const AZURITE_MAIN = path.join(HERE, '.azurite/node_modules/azurite/dist/src/blob/main.js');

// How to launch each emulator on a given port. `bin` must exist (checked before spawning)
// unless it is resolved through PATH.
const SPECS = {
  s3: (port) => ({
    name: 'moto (S3)',
    // moto's own server (what `python3 -m moto.server` runs), with each write to an object made
    // whole: moto alone lets two writers with the same etag both win (see moto-server.py).
    // Started through python3, not a console script, so no PATH or pyenv shim is involved.
    bin: process.env.MOTO_PYTHON || 'python3', // same variable install.sh reads
    args: [path.join(HERE, 'moto-server.py'), '-H', '127.0.0.1', '-p', String(port)],
    // /moto-api/ is served without touching the IAM auth counter (INITIAL_NO_AUTH_ACTION_COUNT).
    readyPath: '/moto-api/',
    isReady: (res) => res.status === 200,
  }),
  gcs: (port) => ({
    name: 'fake-gcs-server (GCS)',
    bin: path.join(HERE, '.bin', 'fake-gcs-server'),
    args: [
      ...'-scheme http -host 127.0.0.1 -backend memory -log-level warn'.split(' '),
      ...['-port', String(port)],
      // public-host: host accepted for XML/"public" URLs; external-url: what goes into the
      // Location header of resumable uploads (must be reachable by the client).
      ...['-public-host', `127.0.0.1:${port}`, '-external-url', `http://127.0.0.1:${port}`],
    ],
    readyPath: '/storage/v1/b',
    isReady: (res) => res.status === 200,
  }),
  azure: (port) => ({
    name: 'Azurite (Azure Blob)',
    // Run Azurite's blob entry point with *this* node binary (no shebang / PATH lookup).
    bin: process.execPath,
    file: AZURITE_MAIN,
    args: [
      AZURITE_MAIN,
      ...['--blobHost', '127.0.0.1', '--blobPort', String(port)],
      // Nothing written to disk. (Cannot be combined with --location; the child's cwd is a
      // temp dir anyway, so a stray workspace file would never land in the repo.)
      '--inMemoryPersistence',
      '--skipApiVersionCheck', // accept whatever x-ms-version the SDK sends
      '--disableTelemetry',
      '--loose', // ignore unsupported headers instead of failing
      '--silent', // no access log
    ],
    readyPath: '/', // answers 400, but with its Server header
    isReady: (res) => (res.headers.get('server') ?? '').startsWith('Azurite-Blob'),
  }),
};

/** Ask the OS for a free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function onPath(cmd) {
  if (cmd.includes('/')) return existsSync(cmd);
  return (process.env.PATH || '').split(':').some((d) => d && existsSync(path.join(d, cmd)));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Children still alive when this process exits are killed (e.g. a crashed test run).
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Start one emulator.
 * opts: { timeoutMs = 30000, stopTimeoutMs = 5000, port (default: a free one), env, verbose }.
 * `opts.env` is merged into the child's environment (e.g. { INITIAL_NO_AUTH_ACTION_COUNT: '3' }
 * for moto). `verbose` echoes the emulator's output to stderr.
 * Returns { kind, endpoint, port, pid, stop(), exited }; stop() is idempotent.
 */
export async function startEmulator(kind, opts = {}) {
  if (!SPECS[kind])
    throw new Error(`unknown emulator kind "${kind}" (expected one of ${KINDS.join(', ')})`);
  const attempts = opts.port ? 1 : 3; // a picked port can be grabbed by someone else: retry
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(kind, opts.port ?? (await freePort()), opts);
    } catch (err) {
      lastErr = err;
      if (!err.retryable) break;
    }
  }
  throw lastErr;
}

async function startOnce(kind, port, opts) {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  const tmp = mkdtempSync(path.join(os.tmpdir(), `emu-${kind}-`));
  const spec = SPECS[kind](port);
  const cmdline = [spec.bin, ...spec.args].join(' ');
  const cleanupTmp = () => rmSync(tmp, { recursive: true, force: true });

  const fail = (why, output = '', retryable = false) => {
    cleanupTmp();
    const tail = output.trim().split('\n').slice(-15).join('\n');
    const err = new Error(
      `${spec.name} emulator failed to start: ${why}\n  command: ${cmdline}\n` +
        (tail ? `  last output:\n${tail.replace(/^/gm, '    ')}\n` : '') +
        `  hint: ${INSTALL_HINT}`,
    );
    err.retryable = retryable;
    return err;
  };

  if (!onPath(spec.bin) || (spec.file && !existsSync(spec.file))) {
    throw fail(`binary not found (${spec.file ?? spec.bin})`);
  }

  // The emulator writes its output to a log file, not a pipe: a pipe is drained only while this
  // process's event loop runs, and a caller blocked in spawnSync (a benchmark timing the CLI)
  // would let it fill, after which moto blocks on its request log and stops answering.
  const logFile = path.join(tmp, 'emulator.log');
  const log = openSync(logFile, 'a');
  const child = spawn(spec.bin, spec.args, {
    cwd: tmp,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  live.add(child);
  const readOutput = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-8000);
    } catch {
      return '';
    }
  };
  let verboseTimer;
  if (opts.verbose) {
    let shown = 0;
    verboseTimer = setInterval(() => {
      const text = readFileSync(logFile, 'utf8');
      if (text.length > shown) process.stderr.write(`[${kind}] ${text.slice(shown)}`);
      shown = text.length;
    }, 200);
    verboseTimer.unref();
  }

  let exited = null;
  let spawnError = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve(exited);
    });
    child.on('error', (e) => {
      spawnError = e;
      exited = exited ?? { code: null, signal: null };
      live.delete(child);
      resolve(exited);
    });
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let ready = false;
  while (Date.now() < deadline && !exited) {
    try {
      // Check it is *our* emulator answering (not something else that grabbed the port).
      const res = await fetch(endpoint + spec.readyPath, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (spec.isReady(res) && !exited) {
        ready = true;
        break;
      }
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }

  if (!ready) {
    if (exited) {
      const why = spawnError
        ? `could not spawn: ${spawnError.message}`
        : `process exited early (code ${exited.code}, signal ${exited.signal})`;
      const output = readOutput();
      throw fail(why, output, /EADDRINUSE|address already in use|Address in use/i.test(output));
    }
    child.kill('SIGKILL');
    await exitPromise;
    throw fail(`no answer on ${endpoint}${spec.readyPath} within ${timeoutMs} ms`, readOutput());
  }

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(verboseTimer);
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        await exitPromise;
        clearTimeout(timer);
      }
      cleanupTmp();
    })();
    return stopping;
  };

  // `exited` resolves with {code, signal} if the process ends (expectedly or not).
  return { kind, endpoint, port, pid: child.pid, stop, exited: exitPromise };
}

/**
 * Environment variables the SDKs / adapters conventionally read for this emulator.
 */
export function emulatorEnv(kind, endpoint) {
  const url = new URL(endpoint);
  switch (kind) {
    case 's3':
      return {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_DEFAULT_REGION: 'us-east-1',
        // AWS_ENDPOINT_URL(_S3) are read by recent AWS SDKs/CLI; S3_ENDPOINT is for our own code.
        AWS_ENDPOINT_URL: endpoint,
        AWS_ENDPOINT_URL_S3: endpoint,
        S3_ENDPOINT: endpoint,
        // moto serves path-style; clients need forcePathStyle: true.
      };
    case 'gcs':
      return {
        // @google-cloud/storage uses this as apiEndpoint and then skips google-auth.
        STORAGE_EMULATOR_HOST: endpoint,
        GCS_ENDPOINT: endpoint, // for our own code
        GOOGLE_CLOUD_PROJECT: 'test-project',
      };
    case 'azure': {
      const blob = `${endpoint}/${AZURITE_ACCOUNT}`;
      return {
        AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
        AZURE_STORAGE_KEY: AZURITE_KEY,
        AZURE_STORAGE_BLOB_ENDPOINT: blob,
        AZURE_STORAGE_CONNECTION_STRING:
          `DefaultEndpointsProtocol=${url.protocol.replace(':', '')};AccountName=${AZURITE_ACCOUNT};` +
          `AccountKey=${AZURITE_KEY};BlobEndpoint=${blob};`,
      };
    }
    default:
      throw new Error(`unknown emulator kind "${kind}"`);
  }
}

/**
 * moto only: switch IAM authentication on/off at runtime.
 * count = 0        -> every request must be SigV4-signed with a key that exists in moto's IAM
 *                     ('test'/'test' then gets 403 InvalidAccessKeyId).
 * count = Infinity -> back to the default (no credential checks at all).
 * count = N        -> the next N requests are free, then auth is enforced.
 */
export async function motoSetAuth(endpoint, count) {
  const res = await fetch(`${endpoint}/moto-api/reset-auth`, {
    method: 'POST',
    // must not be form-encoded, moto reads the raw body
    headers: { 'content-type': 'text/plain' },
    body: count === Infinity ? 'inf' : String(count),
  });
  if (!res.ok) throw new Error(`moto reset-auth failed: ${res.status} ${await res.text()}`);
  return res.json();
}

// ---- CLI -------------------------------------------------------------------------------
const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const kind = process.argv[2];
  if (!KINDS.includes(kind)) {
    console.error(`usage: node tools/emulators/start.mjs <${KINDS.join('|')}> [--verbose]`);
    process.exit(2);
  }
  try {
    const emu = await startEmulator(kind, { verbose: process.argv.includes('--verbose') });
    console.log(
      JSON.stringify({
        kind,
        endpoint: emu.endpoint,
        port: emu.port,
        pid: emu.pid,
        env: emulatorEnv(kind, emu.endpoint),
      }),
    );
    let stopping = false;
    const shutdown = async () => {
      stopping = true;
      await emu.stop();
      process.exit(0);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    emu.exited.then(({ code, signal }) => {
      if (stopping) return;
      console.error(`${kind} emulator exited unexpectedly (code ${code}, signal ${signal})`);
      emu.stop().then(() => process.exit(1));
    });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
