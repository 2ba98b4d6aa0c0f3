import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';
import { fourKinds, type RunningUi, refreshFourKinds, startUi } from './ui-browser.js';

// The HTTP side of `defstate ui` without a browser: who may read, who may write, what leaks.

let sandbox: Sandbox;
let ui: RunningUi | undefined;
afterEach(async () => {
  await ui?.stop();
  ui = undefined;
  await sandbox.cleanup();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch, so that Host and Origin can be whatever a test needs. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (reply: Reply) => JSON.parse(reply.body);

/** The page's boot data without the view and health table it always carries. */
async function bootOf(url: string, cookie?: string): Promise<Record<string, unknown>> {
  const { view, health, ...rest } = await fullBootOf(url, cookie);
  expect(view).toMatchObject({ schemaVersion: 1 });
  expect(health).toMatchObject({ order: expect.any(Array) });
  return rest;
}

async function fullBootOf(url: string, cookie?: string): Promise<Record<string, unknown>> {
  const page = await send(url, { headers: cookie ? { cookie } : {} });
  const boot = /<script type="application\/json" id="defstate-boot">(.*?)<\/script>/s.exec(
    page.body,
  )?.[1];
  return JSON.parse(boot ?? '{}');
}

/** Opens the printed address as a browser would, and returns the cookie it was given. */
async function writeCookieFrom(address: string): Promise<string> {
  const reply = await send(address);
  expect(reply.status).toBe(303);
  expect(reply.headers.location).toBe('/');
  const [setCookie] = reply.headers['set-cookie'] as string[];
  expect(setCookie).toMatch(/^defstate-ui-\d+=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict$/);
  return (setCookie ?? '').split(';')[0] ?? '';
}

/**
 * A third-party adapter, installed in the project, that fails as a careless SDK might: quoting
 * the credentials the instance config gave it.
 */
const LEAKY_ADAPTER = `export const storageAdapter = {
  name: 'leaky',
  optionsSchema: { safeParse: (data) => ({ success: true, data }) },
  create(options) {
    throw new Error(\`cannot connect to \${options.endpoint} with "\${options.connection_string}"\`);
  },
};
`;

describe('defstate ui over HTTP', () => {
  it('serves the page and status JSON with strict headers', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    ui = await startUi(sandbox);

    const page = await send(ui.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const status = await send(`${ui.url}api/status`);
    expect(status.status).toBe(200);
    const view = json(status);
    expect(view).toMatchObject({ schemaVersion: 1, writable: false, error: null });
    expect(view.keys.map((key: { key: string }) => key.key)).toEqual([
      'alpha',
      'beta/β',
      'gamma',
      'delta',
    ]);
    expect((await send(`${ui.url}assets/ui.js`)).headers['content-type']).toMatch(
      /^text\/javascript/,
    );
    expect((await send(`${ui.url}assets/../package.json`)).status).toBe(404);
    expect((await send(`${ui.url}nothing`)).status).toBe(404);
    expect((await send(`${ui.url}api/status`, { method: 'DELETE' })).status).toBe(405);

    const history = json(await send(`${ui.url}api/history?key=${encodeURIComponent('beta/β')}`));
    expect(history.entries).toHaveLength(2);
    const local = json(await send(`${ui.url}api/history?key=alpha`));
    expect(local.entries).toHaveLength(1);
    expect(local.note).toMatch(/only its current version/);
    expect((await send(`${ui.url}api/history?key=nope`)).status).toBe(404);
  });

  it('keeps credentials from the instance config, quoted in a store error, out of the page and API', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox, ['-s', `file://${join(sandbox.home, 'store')}`]);
    await sandbox.write(
      'node_modules/defstate-leaky/package.json',
      JSON.stringify({ name: 'defstate-leaky', type: 'module', exports: './index.js' }),
    );
    await sandbox.write('node_modules/defstate-leaky/index.js', LEAKY_ADAPTER);
    const instance = join(sandbox.home, 'instance');
    await mkdir(instance);
    await writeFile(
      join(instance, 'defstate.yaml'),
      [
        'state_storage:',
        '  adapter: defstate-leaky',
        '  options:',
        '    endpoint: https://admin:p@ss-WORD-1@store.example/state?sig=SIG-SECRET-2&sv=2024',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the instance config's own syntax.
        '    connection_string: ${env:LEAKY_CONNECTION}',
        '',
      ].join('\n'),
    );
    sandbox.env.DEFSTATE_HOME = instance;
    sandbox.env.LEAKY_CONNECTION =
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=KEY-SECRET-3==;SharedAccessSignature=sv=2024&sig=SAS-SECRET-4;EndpointSuffix=core.windows.net';
    ui = await startUi(sandbox);

    const page = await send(ui.url);
    const status = await send(`${ui.url}api/status`);
    const history = await send(`${ui.url}api/history?key=gamma`);
    const view = json(status);
    // The error is shown, credentials and all removed, and the local keys are still read.
    expect(view.error.message).toContain(
      'cannot connect to https://REDACTED@store.example/state?…',
    );
    expect(view.error.message).toContain(
      'AccountName=acct;AccountKey=REDACTED;SharedAccessSignature=REDACTED;',
    );
    expect(view.keys.find((key: { key: string }) => key.key === 'alpha').health).toBe('up-to-date');
    // The adapter's failure reaches the server as core's typed error: the store side failed.
    expect(history.status).toBe(502);
    expect(json(history).error.message).toContain(
      'cannot connect to https://REDACTED@store.example',
    );
    for (const reply of [page, status, history]) {
      expect(reply.body).not.toMatch(/p@ss|WORD-1|SECRET/);
    }
  });

  it('calls state stale after --max-age, until a refresh confirms it, in human units', {
    timeout: 60_000,
  }, async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    // Long enough that a busy machine's refresh and first read fit in it.
    ui = await startUi(sandbox, ['--max-age', '8s']);
    const alpha = async () =>
      json(await send(`${ui?.url}api/status`)).keys.find(
        (key: { key: string }) => key.key === 'alpha',
      );
    const fresh = await alpha();
    expect(fresh).toMatchObject({ health: 'up-to-date' });
    expect(json(await send(`${ui.url}api/status`)).maxAgeMs).toBe(8000);
    await expect
      .poll(async () => (await alpha()).health, { timeout: 20_000, interval: 500 })
      .toBe('stale');
    expect((await alpha()).reason).toBe('Not refreshed within the maximum age (8s).');

    // The content has not changed, so no new version: the refresh still vouches for it.
    const again = await runDefstate(['refresh', '-k', 'alpha'], {
      cwd: sandbox.project,
      env: sandbox.env,
    });
    expect(again.code, again.stderr).toBe(0);
    const confirmed = await alpha();
    expect(confirmed.version).toBe(fresh.version);
    expect(confirmed.lastRefresh.status).toBe('unchanged');
    expect(confirmed.health).toBe('up-to-date');
  });

  it('refuses a Host it does not know, so a rebound domain cannot read the page', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    ui = await startUi(sandbox);
    const port = new URL(ui.url).port;
    const as = (host: string) => send(`${ui?.url}api/status`, { headers: { host } });
    expect((await as(`evil.example:${port}`)).status).toBe(421);
    expect((await as('127.0.0.1:1')).status).toBe(421);
    expect((await as(`localhost:${port}`)).status).toBe(200);
    expect((await as(`127.0.0.1:${port}`)).status).toBe(200);
  });

  it('refuses every write without --allow-writes, and gives the page no token', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    ui = await startUi(sandbox);
    expect(ui.address).toBe(ui.url);
    expect(await bootOf(ui.url)).toEqual({ mode: 'live', writable: false });
    // A token in the address means nothing without --allow-writes.
    const guessed = await send(`${ui.url}?token=anything`);
    expect(guessed.status).toBe(200);
    expect(guessed.headers['set-cookie']).toBeUndefined();
    const origin = ui.url.replace(/\/$/, '');
    const reply = await send(`${ui.url}api/rollback`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'beta/β', version: 'x' }),
    });
    expect(reply.status).toBe(403);
    expect(json(reply).error.code).toBe('READ_ONLY');
  });

  it('with --allow-writes, takes a write only from the printed address, with the page token, its Origin and JSON', async () => {
    sandbox = await createSandbox();
    const before = await refreshFourKinds(sandbox);
    ui = await startUi(sandbox, ['--allow-writes']);
    // Anyone on this machine can load the page; without the printed secret it stays read-only.
    expect(ui.address).toMatch(/\/\?token=[\w-]{40,}$/);
    expect(await bootOf(ui.url)).toEqual({ mode: 'live', writable: false, locked: true });
    const wrong = await send(`${ui.url}?token=not-the-secret`);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const cookie = await writeCookieFrom(ui.address);
    const boot = await bootOf(ui.url, cookie);
    expect(boot).toMatchObject({ writable: true });
    const token = boot.token as string;
    expect(token).toMatch(/^[\w-]{40,}$/);
    expect(cookie).not.toContain(token);
    const origin = ui.url.replace(/\/$/, '');
    const history = json(await send(`${ui.url}api/history?key=${encodeURIComponent('beta/β')}`));
    const older = history.entries[1].version as string;
    const body = JSON.stringify({ key: 'beta/β', version: older });
    const post = (headers: Record<string, string>) =>
      send(`${ui?.url}api/rollback`, { method: 'POST', headers, body });
    const good = {
      origin,
      cookie,
      'content-type': 'application/json',
      'x-defstate-token': token,
    };

    const refusals = await Promise.all([
      post({ ...good, cookie: '' }),
      post({ ...good, cookie: `${cookie.split('=')[0]}=not-the-secret` }),
      post({ ...good, 'x-defstate-token': 'wrong' }),
      post({ origin, cookie, 'content-type': 'application/json' }),
      post({ ...good, origin: 'http://evil.example' }),
      post({ cookie, 'content-type': 'application/json', 'x-defstate-token': token }),
      post({ ...good, 'content-type': 'text/plain' }),
      post({ ...good, 'sec-fetch-site': 'cross-site' }),
    ]);
    expect(refusals.map((reply) => reply.status)).toEqual([403, 403, 403, 403, 403, 403, 403, 403]);
    expect(json(refusals[0] as Reply).error.message).toContain('printed (with ?token=…)');
    const beta = () =>
      runDefstate(['status', '--json', '-k', 'beta/β'], { cwd: sandbox.project, env: sandbox.env });
    const unchanged = JSON.parse((await beta()).stdout).keys[0].version;
    expect(unchanged).toBe(before.keys.find((key) => key.key === 'beta/β')?.version);

    const badKey = await send(`${ui.url}api/rollback`, {
      method: 'POST',
      headers: good,
      body: JSON.stringify({ key: 'alpha', version: older }),
    });
    expect(badKey.status).toBe(400);
    const unknown = await send(`${ui.url}api/rollback`, {
      method: 'POST',
      headers: good,
      body: JSON.stringify({ key: 'beta/β', version: '20200101T000000000Z-000000000000' }),
    });
    expect(unknown.status).toBe(404);
    // Refused and failed writes are told on the terminal too, not only to the page.
    const printed = ui.output().stdout;
    expect(printed).toContain('failed rollback refused: this browser has not opened the address');
    expect(printed).toMatch(/failed rollback of beta\/β: .*20200101T000000000Z-000000000000/);
    expect(printed).not.toContain('changed');

    const done = await post(good);
    expect(done.status, done.body).toBe(200);
    expect(json(done).message).toContain(`to ${older}`);
    expect(JSON.parse((await beta()).stdout).keys[0].version).toBe(older);
  });

  it('shows a broken store as an error in the view, and recovers once it is mended', async () => {
    sandbox = await createSandbox();
    const store = join(sandbox.home, 'store');
    await refreshFourKinds(sandbox, ['-s', `file://${store}`]);
    const pointer = join(store, 'layout.json');
    const good = await readFile(pointer, 'utf8');
    await writeFile(pointer, '{ not json');
    ui = await startUi(sandbox, ['-s', `file://${store}`]);

    const broken = json(await send(`${ui.url}api/status`));
    expect(broken.error).toMatchObject({ code: 'STORAGE' });
    expect(broken.error.message).toContain('is not valid JSON');
    expect(broken.keys).toHaveLength(4);
    const history = await send(`${ui.url}api/history?key=gamma`);
    expect(history.status).toBe(502);
    expect(json(history).error.message).toContain('is not valid JSON');

    await writeFile(pointer, good);
    const mended = json(await send(`${ui.url}api/status`));
    expect(mended.error).toBeNull();
    expect(mended.keys.find((key: { key: string }) => key.key === 'gamma').health).toBe('failed');
  });

  it('says so when the port is taken, exit 2', async () => {
    sandbox = await createSandbox();
    await sandbox.write('defstate.config.mjs', fourKinds);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runDefstate(['ui', '--port', String(port)], {
        cwd: sandbox.project,
        env: sandbox.env,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });
});
