import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Canaries, filesUnder, LEAKY_ADAPTER } from './canaries.js';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';
import { startUi } from './ui-browser.js';

// Secrets never print: canaries planted in the environment, in storage URLs (well-formed or not),
// in defstate.yaml, in a component's errors and in a store adapter's errors are looked for in
// everything the built CLI writes: stdout, stderr, every --json document, the status page, the
// ui page and its API, and every file under the project and the home folder.

const CONFIG = `import { writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => writeFile(statePath, 'tables: 3') },
    { key: 'connectors', management: 'versioned', refresh: async ({ statePath }) => writeFile(statePath, \`connectors: \${Date.now()}\`) },
    { key: 'warehouse', management: 'local', refresh: async ({ log }) => {
      // A careless component: it logs and prints what it was given, and its error quotes it.
      log(\`GET \${process.env.WAREHOUSE_URL}\`);
      log(\`using token \${process.env.WAREHOUSE_API_TOKEN}\`);
      console.log(\`connecting with \${process.env.WAREHOUSE_CONNECTION}\`);
      console.error(\`debug: \${process.env.WAREHOUSE_URL}\`);
      throw new Error(\`warehouse unreachable: GET \${process.env.WAREHOUSE_URL} answered 503 (\${process.env.WAREHOUSE_CONNECTION})\`);
    } },
  ],
};
`;

/** What the environment of every command holds: the usual credentials, and the component's. */
function plantEnvironment(canaries: Canaries): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: `AKIA${canaries.plant('env AWS_ACCESS_KEY_ID')}`,
    AWS_SECRET_ACCESS_KEY: canaries.plant('env AWS_SECRET_ACCESS_KEY'),
    AWS_SESSION_TOKEN: canaries.plant('env AWS_SESSION_TOKEN'),
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${canaries.plant('env AZURE_STORAGE_CONNECTION_STRING')};EndpointSuffix=core.windows.net`,
    WAREHOUSE_API_TOKEN: canaries.plant('env WAREHOUSE_API_TOKEN'),
    WAREHOUSE_URL: `https://svc:${canaries.plant('component URL password')}@warehouse.example/api?region=eu&api_key=${canaries.plant('component URL api_key')}&X-Amz-Signature=${canaries.plant('component URL signature')}`,
    WAREHOUSE_CONNECTION: `Server=db.example;User Id=app;Password=${canaries.plant('component connection password')};`,
  };
}

/** The malformed URL of the issue: userinfo, a space in the bucket, a session token. */
const malformedUrl = (canaries: Canaries, where: string) =>
  `s3://AKIA${canaries.plant(`${where} user`)}:${canaries.plant(`${where} password`)}@bad bucket/p?x-amz-security-token=${canaries.plant(`${where} token`)}&X-Amz-Credential=${canaries.plant(`${where} credential`)}`;

/** A well-formed URL of the leaky adapter, whose every error quotes it. */
const leakyUrl = (canaries: Canaries, where: string, query = '') =>
  `leaky://AKIA${canaries.plant(`${where} user`)}:${canaries.plant(`${where} password`)}@bucket/p?region=eu&token=${canaries.plant(`${where} token`)}&sig=${canaries.plant(`${where} sig`)}${query}`;

const leakyInstanceConfig = (canaries: Canaries) => `state_storage:
  adapter: defstate-storage-leaky
  options:
    url: "https://reader:${canaries.plant('yaml url password')}@leaky.example/p?sv=2024-05-04&sp=rl&sig=${canaries.plant('yaml url sig')}"
    connectionString: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${canaries.plant('yaml AccountKey')};EndpointSuffix=core.windows.net"
    accountKey: ${canaries.plant('yaml accountKey')}
    sasToken: "sv=2024-05-04&sp=rl&sig=${canaries.plant('yaml sasToken sig')}"
`;

interface Setup {
  name: string;
  /** Given to every command that takes a store. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Writes defstate.yaml in a DEFSTATE_HOME beside the project. */
  instanceConfig?: string;
}

const SETUPS: Array<(canaries: Canaries) => Setup> = [
  (c) => ({ name: 'a malformed --storage URL', args: ['--storage', malformedUrl(c, 'flag')] }),
  (c) => ({
    name: 'a malformed DEFSTATE_STORAGE_URL',
    env: { DEFSTATE_STORAGE_URL: malformedUrl(c, 'variable') },
  }),
  (c) => ({
    name: 'a store whose every error quotes its URL',
    env: { DEFSTATE_STORAGE_URL: leakyUrl(c, 'leaky') },
  }),
  (c) => ({
    name: 'a store that cannot open, quoting its URL',
    args: ['--storage', leakyUrl(c, 'unopened', '&failAt=create')],
  }),
  (c) => ({ name: 'defstate.yaml with credentials', instanceConfig: leakyInstanceConfig(c) }),
  () => ({ name: 'the embedded store' }),
];

/** Every command a project's state goes through, in an order that gives each something to do. */
function commands(html: string, version: string): string[][] {
  return [
    ['refresh'],
    ['refresh', '--json'],
    ['refresh', '--verbose'],
    ['deploy', '--json'],
    ['status'],
    ['status', '--json'],
    ['status', '--verbose', '--html', html],
    ['pin'],
    ['pin', '--json'],
    ['pull'],
    ['pull', '--json', '--verbose'],
    ['verify', '--deep'],
    ['verify', '--json'],
    ['verify', '--deep', '--json', '--verbose'],
    ['history', 'connectors'],
    ['history', 'connectors', '--json', '--verbose'],
    ['rollback', 'connectors', '--to', version],
    ['rollback', 'connectors', '--to', version, '--json', '--verbose'],
    ['prune', '--keep', '1', '--min-age', '0', '--dry-run'],
    ['prune', '--keep', '1', '--min-age', '0', '--json', '--verbose'],
  ];
}

let sandbox: Sandbox;
afterEach(async () => {
  await sandbox?.cleanup();
});

/** A project with the careless component and the leaky adapter installed. */
async function projectSandbox(canaries: Canaries): Promise<Sandbox> {
  const created = await createSandbox();
  Object.assign(created.env, plantEnvironment(canaries));
  await created.write('package.json', '{ "name": "app", "private": true }\n');
  await created.write('defstate.config.mjs', CONFIG);
  await created.write(
    'node_modules/defstate-storage-leaky/package.json',
    '{ "name": "defstate-storage-leaky", "type": "module", "exports": "./index.mjs" }\n',
  );
  await created.write('node_modules/defstate-storage-leaky/index.mjs', LEAKY_ADAPTER);
  return created;
}

/** The first version `history --json` lists, or a made-up one when the store cannot be read. */
async function someVersion(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const history = await runDefstate(['history', 'connectors', '--json', ...args], {
    cwd: sandbox.project,
    env,
  });
  if (history.code !== 0) return '20260101T000000000Z-000000000000';
  const { entries } = JSON.parse(history.stdout) as { entries: Array<{ version: string }> };
  return entries.at(-1)?.version as string;
}

describe('no secret reaches any output', () => {
  for (const setupOf of SETUPS) {
    const probe = setupOf(new Canaries());
    it(`of any command, with ${probe.name}`, { timeout: 240_000 }, async () => {
      const canaries = new Canaries();
      const setup = setupOf(canaries);
      sandbox = await projectSandbox(canaries);
      const env = { ...sandbox.env, ...setup.env };
      if (setup.instanceConfig) {
        // Beside the folders searched: it is the user's own file, and holds the canaries.
        const home = join(sandbox.home, '..', 'defstate-home');
        await mkdir(home, { recursive: true });
        await writeFile(join(home, 'defstate.yaml'), setup.instanceConfig);
        env.DEFSTATE_HOME = home;
      }
      const args = setup.args ?? [];
      const html = join(sandbox.project, 'status.html');
      const channels: Record<string, string> = {};
      const codes: string[] = [];
      let version = '';
      for (const command of commands(html, '{version}')) {
        if (command[0] === 'history' && !version) version = await someVersion(env, args);
        const argv = [...command.map((arg) => (arg === '{version}' ? version : arg)), ...args];
        const result = await runDefstate(argv, { cwd: sandbox.project, env });
        const name = command.join(' ').replace(html, 'status.html');
        channels[`${name} → stdout`] = result.stdout;
        channels[`${name} → stderr`] = result.stderr;
        codes.push(`${name}: ${result.code}`);
      }
      // Each command ran and said something: a crash before any output would prove nothing.
      expect(codes.filter((line) => !/: [012]$/.test(line))).toEqual([]);
      for (const [name, files] of [
        ['project', await filesUnder(sandbox.project)],
        ['home', await filesUnder(sandbox.home)],
      ] as const) {
        for (const [path, text] of Object.entries(files)) channels[`${name} file ${path}`] = text;
      }
      expect(Object.keys(channels)).toContain('project file status.html');
      if (!setup.args && !setup.env?.DEFSTATE_STORAGE_URL && !setup.instanceConfig) {
        // The component failed here, and its message was recorded.
        expect(channels['project file .local_defs_state/.last-refresh.json']).toContain(
          'warehouse unreachable',
        );
      }
      expect(canaries.findIn(channels)).toEqual([]);
    });
  }
});

describe('no secret reaches the ui page or its API', () => {
  for (const setupOf of [SETUPS[2], SETUPS[5]] as Array<(canaries: Canaries) => Setup>) {
    const probe = setupOf(new Canaries());
    it(`with ${probe.name}`, { timeout: 120_000 }, async () => {
      const canaries = new Canaries();
      const setup = setupOf(canaries);
      sandbox = await projectSandbox(canaries);
      Object.assign(sandbox.env, setup.env);
      const refreshed = await runDefstate(['refresh'], { cwd: sandbox.project, env: sandbox.env });
      expect(refreshed.code).toBe(1);
      const ui = await startUi(sandbox, ['--allow-writes']);
      const channels: Record<string, string> = {};
      try {
        const opened = await send(ui.address);
        const cookie = String(opened.headers['set-cookie'] ?? '').split(';')[0] ?? '';
        const page = await send(ui.url, { headers: { cookie } });
        channels.page = page.body;
        const token = /"token":"([^"]+)"/.exec(page.body)?.[1] ?? '';
        expect(token).not.toBe('');
        channels['GET /api/status'] = (await send(`${ui.url}api/status`)).body;
        for (const key of ['connectors', 'warehouse']) {
          channels[`GET /api/history?key=${key}`] = (
            await send(`${ui.url}api/history?key=${key}`)
          ).body;
        }
        const write = (path: string, body: unknown) =>
          send(`${ui.url}${path}`, {
            method: 'POST',
            headers: {
              cookie,
              origin: ui.url.replace(/\/$/, ''),
              'content-type': 'application/json',
              'x-defstate-token': token,
            },
            body: JSON.stringify(body),
          });
        for (const key of ['warehouse', 'connectors']) {
          const reply = await write('api/refresh', { key });
          channels[`POST /api/refresh ${key}`] = reply.body;
        }
        channels['POST /api/rollback'] = (
          await write('api/rollback', { key: 'connectors', version: '20260101T000000000Z-0' })
        ).body;
        channels['GET /api/status after writes'] = (await send(`${ui.url}api/status`)).body;
        expect(channels['POST /api/refresh warehouse']).toContain('warehouse unreachable');
      } finally {
        const ended = await ui.stop();
        channels['ui stdout'] = ended.stdout;
        channels['ui stderr'] = ended.stderr;
      }
      expect(canaries.findIn(channels)).toEqual([]);
    });
  }
});

describe('no secret reaches a usage error', () => {
  it('of commander or init', async () => {
    const canaries = new Canaries();
    sandbox = await projectSandbox(canaries);
    const env = sandbox.env;
    const empty = join(sandbox.home, 'new-project');
    await mkdir(empty, { recursive: true });
    const runs: Array<[string[], string]> = [
      [['refresh', `--storag=${malformedUrl(canaries, 'misspelt flag')}`], sandbox.project],
      [['refresh', '--concurrency', leakyUrl(canaries, 'bad number')], sandbox.project],
      [['status', '-m', leakyUrl(canaries, 'bad choice')], sandbox.project],
      [['init', '--storage', malformedUrl(canaries, 'init malformed')], empty],
      [['init', '--storage', leakyUrl(canaries, 'init unknown scheme')], empty],
      [
        [
          'init',
          '--storage',
          `s3://AKIA${canaries.plant('init s3 user')}:${canaries.plant('init s3 password')}@bucket/app?region=eu-west-1&x-amz-security-token=${canaries.plant('init s3 token')}`,
        ],
        empty,
      ],
      [
        [
          'init',
          '--storage',
          `azblob://acct/state?sv=2024-05-04&sig=${canaries.plant('init azure sig')}`,
        ],
        empty,
      ],
    ];
    const channels: Record<string, string> = {};
    for (const [argv, cwd] of runs) {
      const result = await runDefstate(argv, { cwd, env });
      expect(result.code, `${argv.join(' ')}\n${result.stderr}`).toBe(2);
      channels[`${argv[0]} ${argv[1]} → stdout`] = result.stdout;
      channels[`${argv[0]} ${argv[1]} → stderr`] = result.stderr;
    }
    for (const [path, text] of Object.entries(await filesUnder(sandbox.home))) {
      channels[`home file ${path}`] = text;
    }
    expect(canaries.findIn(channels)).toEqual([]);
  });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch, so that Origin can be set. */
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
