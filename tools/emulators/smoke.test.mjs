// Smoke test for the three storage emulators: raw HTTP via fetch, no SDKs.
//
//   node tools/emulators/smoke.test.mjs      (after `bash tools/emulators/install.sh`)
//
// Checks the behaviours the adapters rely on (conditional writes, missing bucket/container,
// credentials, paging) and exits non-zero on any mismatch. The expected codes are the table
// in README.md: if an emulator upgrade changes one, update both.
//
// Auth: S3 requests are SigV4-signed and Azure requests SharedKey-signed (node:crypto only).
// Signing is needed anyway (moto answers 403 to *unsigned* writes over an existing object,
// Azurite verifies SharedKey signatures) and it mirrors what the SDKs send.

import crypto from 'node:crypto';
import { startFaultProxy } from './fault-proxy.mjs';
import { AZURITE_ACCOUNT, AZURITE_KEY, motoSetAuth, startEmulator } from './start.mjs';

let passed = 0;
let failed = 0;
function check(label, actual, expected) {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  if (ok) passed++;
  else failed++;
  const extra = ok ? '' : ` (expected ${JSON.stringify(expected)})`;
  console.log(`${ok ? 'ok    ' : 'NOT OK'} ${label}: ${JSON.stringify(actual)}${extra}`);
}
/** Await a response and compare [status, error code] with the expectation. */
async function expectStatus(label, expected, responsePromise) {
  const r = await responsePromise;
  check(label, [r.status, r.code ?? null], expected);
  return r;
}

const sha256 = (data) =>
  crypto
    .createHash('sha256')
    .update(data ?? '')
    .digest('hex');
const hmac = (key, data, enc) => crypto.createHmac('sha256', key).update(data, 'utf8').digest(enc);
// RFC 3986 encoding as SigV4 wants it.
const enc = (s) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const PAGES = [['page/1', 'page/2'], ['page/3', 'page/4'], ['page/5']];

// ---- S3 (moto): SigV4 ---------------------------------------------------------------------
async function s3(endpoint, method, key, opts = {}) {
  const { query = {}, headers = {}, body, creds = ['test', 'test'] } = opts;
  const url = new URL(endpoint);
  url.pathname = `/${key.split('/').map(enc).join('/')}`;
  const q = Object.keys(query)
    .sort()
    .map((k) => `${enc(k)}=${enc(String(query[k]))}`)
    .join('&');
  url.search = q;
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const h = { host: url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256(body) };
  const names = Object.keys(h).sort();
  const canonical = [method, url.pathname, q, ...names.map((k) => `${k}:${h[k]}`), '']
    .concat([names.join(';'), h['x-amz-content-sha256']])
    .join('\n');
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let k = `AWS4${creds[1]}`;
  for (const part of [day, 'us-east-1', 's3', 'aws4_request']) k = hmac(k, part);
  const authorization =
    `AWS4-HMAC-SHA256 Credential=${creds[0]}/${scope}, SignedHeaders=${names.join(';')}, ` +
    `Signature=${hmac(k, toSign, 'hex')}`;
  delete h.host; // fetch derives the same value from the URL
  // A content-type matters: moto (werkzeug) would swallow a form-encoded body.
  const ct = body !== undefined ? { 'content-type': 'application/octet-stream' } : {};
  const res = await fetch(url, {
    method,
    body,
    headers: { ...h, authorization, ...ct, ...headers },
  });
  const text = await res.text();
  const code = text.match(/<Code>([^<]*)<\/Code>/)?.[1];
  return { status: res.status, etag: res.headers.get('etag'), code, text };
}

async function testS3() {
  const emu = await startEmulator('s3');
  try {
    const E = emu.endpoint;
    const put = (key, headers, body) => s3(E, 'PUT', `smoke-bkt/${key}`, { headers, body });
    const get = (key, opts) => s3(E, 'GET', `smoke-bkt/${key}`, opts);
    const PF = [412, 'PreconditionFailed'];

    await expectStatus('s3 create bucket', [200, null], s3(E, 'PUT', 'smoke-bkt'));
    const first = await expectStatus(
      's3 PUT If-None-Match:* (new key)',
      [200, null],
      put('state/a', { 'if-none-match': '*' }, 'v1'),
    );
    await expectStatus(
      's3 PUT If-None-Match:* on existing',
      PF,
      put('state/a', { 'if-none-match': '*' }, 'v2'),
    );
    await expectStatus(
      's3 PUT If-Match wrong etag',
      PF,
      put('state/a', { 'if-match': '"0123"' }, 'v2'),
    );
    await expectStatus(
      's3 PUT If-Match right etag',
      [200, null],
      put('state/a', { 'if-match': first.etag }, 'v3'),
    );
    await expectStatus(
      's3 PUT If-Match on missing key',
      [404, 'NoSuchKey'],
      put('state/none', { 'if-match': first.etag }, 'v'),
    );
    check('s3 GET reads last write', (await get('state/a')).text, 'v3');
    await expectStatus(
      's3 DELETE If-Match wrong etag',
      PF,
      s3(E, 'DELETE', 'smoke-bkt/state/a', { headers: { 'if-match': '"0123"' } }),
    );
    await expectStatus(
      's3 PUT missing bucket',
      [404, 'NoSuchBucket'],
      s3(E, 'PUT', 'no-such-bkt/a', { body: 'v' }),
    );
    await expectStatus('s3 GET missing key', [404, 'NoSuchKey'], get('nope'));

    // Paging: ListObjectsV2 honours max-keys and continuation-token.
    for (let i = 1; i <= 5; i++) await put(`page/${i}`, {}, 'x');
    const pages = [];
    let token;
    do {
      const query = { 'list-type': 2, prefix: 'page/', 'max-keys': 2 };
      if (token) query['continuation-token'] = token;
      const r = await s3(E, 'GET', 'smoke-bkt', { query });
      pages.push([...r.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]));
      token = r.text.match(/<NextContinuationToken>([^<]*)</)?.[1];
    } while (token);
    check('s3 list max-keys=2 pages', pages, PAGES);

    // Credentials: ignored by moto unless IAM auth is switched on.
    await expectStatus(
      's3 wrong creds, auth off (default)',
      [200, null],
      get('state/a', { creds: ['nobody', 'x'] }),
    );
    await motoSetAuth(E, 0);
    await expectStatus('s3 test/test creds, auth on', [403, 'InvalidAccessKeyId'], get('state/a'));
    await motoSetAuth(E, Number.POSITIVE_INFINITY);
    await expectStatus('s3 after auth switched off again', [200, null], get('state/a'));

    // Throttling / 5xx: not built into moto, so a fault proxy goes in front of it.
    const proxy = await startFaultProxy(E);
    try {
      proxy.inject({ status: 503, body: '<Error><Code>SlowDown</Code></Error>' });
      const viaProxy = () => s3(proxy.endpoint, 'GET', 'smoke-bkt/state/a');
      await expectStatus('s3 via fault proxy, injected', [503, 'SlowDown'], viaProxy());
      await expectStatus('s3 via fault proxy, passed through', [200, null], viaProxy());
    } finally {
      await proxy.stop();
    }
  } finally {
    await emu.stop();
  }
}

// ---- GCS (fake-gcs-server): JSON API, no auth ---------------------------------------------
async function gcs(url, method, { query = {}, headers = {}, body } = {}) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v));
  const res = await fetch(u, { method, headers, body });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const code = json?.error?.errors?.[0]?.reason ?? null;
  return { status: res.status, json, text, headers: res.headers, code };
}

async function testGcs() {
  const emu = await startEmulator('gcs');
  try {
    const E = emu.endpoint;
    const UPLOAD = `${E}/upload/storage/v1/b/smoke-bkt/o`;
    const OBJ = `${E}/storage/v1/b/smoke-bkt/o`;
    const json = { 'content-type': 'application/json' };
    const octets = { 'content-type': 'application/octet-stream' };
    const media = (name, q, body) =>
      gcs(UPLOAD, 'POST', { query: { uploadType: 'media', name, ...q }, headers: octets, body });
    const multipart = (name, q, data) => {
      const body =
        `--XX\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ name })}\r\n` +
        `--XX\r\ncontent-type: application/octet-stream\r\n\r\n${data}\r\n--XX--\r\n`;
      const headers = { 'content-type': 'multipart/related; boundary=XX' };
      return gcs(UPLOAD, 'POST', { query: { uploadType: 'multipart', ...q }, headers, body });
    };
    // Resumable: the precondition is given when the session is created and enforced when the
    // last chunk is PUT to the session's Location URL (built from -external-url).
    const resumable = async (name, q, data) => {
      const query = { uploadType: 'resumable', ...q };
      const init = await gcs(UPLOAD, 'POST', {
        query,
        headers: json,
        body: JSON.stringify({ name }),
      });
      if (init.status !== 200) return init;
      const range = { 'content-range': `bytes 0-${data.length - 1}/${data.length}` };
      return gcs(init.headers.get('location'), 'PUT', { headers: range, body: data });
    };
    const createBucket = () =>
      gcs(`${E}/storage/v1/b`, 'POST', {
        query: { project: 'test' },
        headers: json,
        body: '{"name":"smoke-bkt"}',
      });
    const CNM = [412, 'conditionNotMet'];

    await expectStatus('gcs create bucket', [200, null], createBucket());
    await expectStatus('gcs create bucket again', [409, 'conflict'], createBucket());
    const first = await expectStatus(
      'gcs media ifGenerationMatch=0 (new)',
      [200, null],
      media('a', { ifGenerationMatch: 0 }, 'v1'),
    );
    await expectStatus(
      'gcs media ifGenerationMatch=0 on existing',
      CNM,
      media('a', { ifGenerationMatch: 0 }, 'v2'),
    );
    await expectStatus(
      'gcs media ifGenerationMatch=wrong',
      CNM,
      media('a', { ifGenerationMatch: 1 }, 'v2'),
    );
    await expectStatus(
      'gcs multipart ifGenerationMatch=0 on existing',
      CNM,
      multipart('a', { ifGenerationMatch: 0 }, 'v2'),
    );
    await expectStatus(
      'gcs multipart ifGenerationMatch=wrong',
      CNM,
      multipart('a', { ifGenerationMatch: 1 }, 'v2'),
    );
    await expectStatus(
      'gcs resumable ifGenerationMatch=0 on existing',
      CNM,
      resumable('a', { ifGenerationMatch: 0 }, 'v2'),
    );
    await expectStatus(
      'gcs resumable ifGenerationMatch=wrong',
      CNM,
      resumable('a', { ifGenerationMatch: 1 }, 'v2'),
    );
    const second = await expectStatus(
      'gcs multipart ifGenerationMatch=current',
      [200, null],
      multipart('a', { ifGenerationMatch: first.json.generation }, 'v3'),
    );
    await expectStatus(
      'gcs resumable ifGenerationMatch=current',
      [200, null],
      resumable('a', { ifGenerationMatch: second.json.generation }, 'v4'),
    );
    await expectStatus(
      'gcs resumable ifGenerationMatch=0 (new)',
      [200, null],
      resumable('b', { ifGenerationMatch: 0 }, 'v1'),
    );
    check(
      'gcs GET reads last write',
      (await gcs(`${OBJ}/a`, 'GET', { query: { alt: 'media' } })).text,
      'v4',
    );
    await expectStatus(
      'gcs upload to missing bucket',
      [404, 'notFound'],
      gcs(`${E}/upload/storage/v1/b/no-such-bkt/o`, 'POST', {
        query: { uploadType: 'media', name: 'a' },
        body: 'v',
      }),
    );
    await expectStatus('gcs GET missing object', [404, 'notFound'], gcs(`${OBJ}/nope`, 'GET'));

    // Paging: maxResults + pageToken (the token is simply the next object name).
    for (let i = 1; i <= 5; i++) await media(`page/${i}`, {}, 'x');
    const pages = [];
    let token;
    do {
      const query = { prefix: 'page/', maxResults: 2 };
      if (token) query.pageToken = token;
      const r = await gcs(OBJ, 'GET', { query });
      pages.push((r.json.items ?? []).map((o) => o.name));
      token = r.json.nextPageToken;
    } while (token);
    check('gcs list maxResults=2 pages', pages, PAGES);

    // KNOWN GAP (see README): DELETE ignores ifGenerationMatch and deletes anyway (200; real
    // GCS would answer 412, and 204 on success). Checked as [delete status, GET after].
    const del = await gcs(`${OBJ}/b`, 'DELETE', { query: { ifGenerationMatch: 1 } });
    const after = await gcs(`${OBJ}/b`, 'GET');
    check(
      'gcs DELETE ifGenerationMatch=wrong (KNOWN GAP: ignored)',
      [del.status, after.status],
      [200, 404],
    );
  } finally {
    await emu.stop();
  }
}

// ---- Azure (Azurite): SharedKey -------------------------------------------------------------
// String-to-sign per "Authorize with Shared Key" (version 2009-09-19 and later). The canonical
// resource is /account + URL path, and Azurite's path-style URL holds the account once more.
async function az(endpoint, method, path, opts = {}) {
  const { headers = {}, body, key = AZURITE_KEY, version = '2021-12-02' } = opts;
  const url = new URL(`${endpoint}/${AZURITE_ACCOUNT}${path}`);
  const h = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': version };
  // fetch would add text/plain for a string body, outside the signature: set it ourselves.
  if (body !== undefined) h['content-type'] = 'application/octet-stream';
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
  const len = body ? Buffer.byteLength(body) : 0;
  const g = (n) => h[n] ?? '';
  const msHeaders = Object.keys(h)
    .filter((k) => k.startsWith('x-ms-'))
    .sort()
    .map((k) => `${k}:${h[k]}\n`)
    .join('');
  const params = [...new Set(url.searchParams.keys())].sort();
  const resource =
    `/${AZURITE_ACCOUNT}${url.pathname}` +
    params
      .map((p) => `\n${p.toLowerCase()}:${url.searchParams.getAll(p).sort().join(',')}`)
      .join('');
  const toSign = [
    method,
    g('content-encoding'),
    g('content-language'),
    len ? String(len) : '',
    g('content-md5'),
    g('content-type'),
    '', // Date: empty because x-ms-date is sent
    g('if-modified-since'),
    g('if-match'),
    g('if-none-match'),
    g('if-unmodified-since'),
    g('range'),
  ].join('\n');
  const signature = hmac(
    Buffer.from(key, 'base64'),
    `${toSign}\n${msHeaders}${resource}`,
    'base64',
  );
  h.authorization = `SharedKey ${AZURITE_ACCOUNT}:${signature}`;
  const res = await fetch(url, { method, headers: h, body });
  const text = await res.text();
  return {
    status: res.status,
    etag: res.headers.get('etag'),
    code: res.headers.get('x-ms-error-code'),
    text,
  };
}

async function testAzure() {
  const emu = await startEmulator('azure');
  try {
    const E = emu.endpoint;
    const block = { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/octet-stream' };
    const put = (name, headers, body) =>
      az(E, 'PUT', `/smoke-cont/${name}`, { headers: { ...block, ...headers }, body });
    const get = (name, opts) => az(E, 'GET', `/smoke-cont/${name}`, opts);
    const CNM = [412, 'ConditionNotMet'];
    const WRONG_ETAG = '"0x8D000000000000"';

    await expectStatus(
      'azure create container',
      [201, null],
      az(E, 'PUT', '/smoke-cont?restype=container'),
    );
    await expectStatus(
      'azure create container again',
      [409, 'ContainerAlreadyExists'],
      az(E, 'PUT', '/smoke-cont?restype=container'),
    );
    const first = await expectStatus(
      'azure PUT If-None-Match:* (new)',
      [201, null],
      put('state/a', { 'if-none-match': '*' }, 'v1'),
    );
    await expectStatus(
      'azure PUT If-None-Match:* on existing',
      [409, 'BlobAlreadyExists'],
      put('state/a', { 'if-none-match': '*' }, 'v2'),
    );
    await expectStatus(
      'azure PUT If-Match wrong etag',
      CNM,
      put('state/a', { 'if-match': WRONG_ETAG }, 'v2'),
    );
    await expectStatus(
      'azure PUT If-Match right etag',
      [201, null],
      put('state/a', { 'if-match': first.etag }, 'v3'),
    );
    await expectStatus(
      'azure PUT If-Match on missing blob',
      CNM,
      put('state/none', { 'if-match': first.etag }, 'v'),
    );
    check('azure GET reads last write', (await get('state/a')).text, 'v3');
    await expectStatus(
      'azure DELETE If-Match wrong etag',
      CNM,
      az(E, 'DELETE', '/smoke-cont/state/a', { headers: { 'if-match': WRONG_ETAG } }),
    );
    await expectStatus(
      'azure PUT missing container',
      [404, 'ContainerNotFound'],
      az(E, 'PUT', '/no-such-cont/a', { headers: block, body: 'v' }),
    );
    await expectStatus('azure GET missing blob', [404, 'BlobNotFound'], get('nope'));
    const badKey = Buffer.alloc(64, 7).toString('base64');
    await expectStatus(
      'azure wrong account key',
      [403, 'AuthorizationFailure'],
      get('state/a', { key: badKey }),
    );
    // SDKs newer than Azurite send an x-ms-version it does not know: --skipApiVersionCheck.
    await expectStatus(
      'azure unknown newer x-ms-version accepted',
      [200, null],
      get('state/a', { version: '2026-02-06' }),
    );

    // Paging: maxresults + marker/NextMarker.
    for (let i = 1; i <= 5; i++) await put(`page/${i}`, {}, 'x');
    const pages = [];
    let marker = '';
    do {
      const m = marker ? `&marker=${encodeURIComponent(marker)}` : '';
      const r = await az(
        E,
        'GET',
        `/smoke-cont?restype=container&comp=list&prefix=page/&maxresults=2${m}`,
      );
      pages.push([...r.text.matchAll(/<Name>([^<]*)<\/Name>/g)].map((x) => x[1]));
      marker = r.text.match(/<NextMarker>([^<]*)<\/NextMarker>/)?.[1] ?? '';
    } while (marker);
    check('azure list maxresults=2 pages', pages, PAGES);
  } finally {
    await emu.stop();
  }
}

// ---- main ----------------------------------------------------------------------------------
const t0 = Date.now();
// One emulator at a time: ~2 s slower than in parallel, but the log reads top to bottom.
for (const suite of [testS3, testGcs, testAzure]) {
  try {
    await suite();
  } catch (err) {
    failed++;
    console.log(`NOT OK ${suite.name} crashed: ${err?.stack ?? err}`);
  }
}
console.log(`took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
// Plain closing line, in the "N passed, N failed" form CI log readers recognise.
console.log(`smoke: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
