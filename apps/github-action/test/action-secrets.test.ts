import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  type ActionRun,
  createWorkspace,
  runAction,
  shownLog,
  type Workspace,
  workflowCommands,
} from './helpers.js';

// Secrets never reach the job: canaries planted in the environment, in storage URLs (the
// storage-url input and DEFSTATE_STORAGE_URL, well-formed or not), in instance-config, in a
// component's errors and in a store adapter's errors are looked for in the log (raw, and as the
// runner shows it), stderr, the outputs file, the env file, the job summary and every file
// written under the project. The bundle runs under Node 24, as the runner runs it.

/** Unique strings of letters and digits, so that no escaping changes them. */
class Canaries {
  readonly planted = new Map<string, string>();

  plant(label: string): string {
    const value = `${label.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(8).toString('hex').toUpperCase()}q`;
    this.planted.set(label, value);
    return value;
  }

  findIn(channels: Readonly<Record<string, string>>): string[] {
    return Object.entries(channels).flatMap(([channel, text]) =>
      [...this.planted]
        .filter(([, value]) => text.includes(value))
        .map(([label]) => `${channel}: ${label}`),
    );
  }
}

const CONFIG = `import { writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => writeFile(statePath, 'tables: 3') },
    { key: 'connectors', management: 'versioned', refresh: async ({ statePath }) => writeFile(statePath, 'connectors: 12') },
    { key: 'warehouse', management: 'local', refresh: async ({ log }) => {
      log(\`GET \${process.env.WAREHOUSE_URL}\`);
      log(\`using token \${process.env.WAREHOUSE_API_TOKEN}\`);
      console.log(\`connecting with \${process.env.WAREHOUSE_CONNECTION}\`);
      console.error(\`debug: \${process.env.WAREHOUSE_URL}\`);
      throw new Error(\`warehouse unreachable: GET \${process.env.WAREHOUSE_URL} answered 503 (\${process.env.WAREHOUSE_CONNECTION})\`);
    } },
  ],
};
`;

/** A store adapter whose every error quotes the URL it was given, as careless SDKs do. */
const LEAKY_ADAPTER = `
class LeakyStore {
  adapter = 'leaky';
  location = 'leaky://store';
  capabilities = { conditionalPut: true, delete: true };
  constructor(options) { this.options = options; }
  fail(operation) {
    throw new Error(\`\${operation}: request to \${this.options.url} failed: 400\${this.options.connectionString ? \` (\${this.options.connectionString})\` : ''}\`);
  }
  async get() { this.fail('GET'); }
  async head() { this.fail('HEAD'); }
  async put() { this.fail('PUT'); }
  async list() { this.fail('LIST'); }
  async delete() { this.fail('DELETE'); }
}
export const storageAdapter = {
  name: 'leaky',
  optionsSchema: { safeParse: (data) => ({ success: true, data }) },
  async create(options) { return new LeakyStore(options); },
  optionsFromUrl: (url) => ({ url: url.href }),
};
`;

function plantEnvironment(canaries: Canaries): NodeJS.ProcessEnv {
  return {
    AWS_SECRET_ACCESS_KEY: canaries.plant('env AWS_SECRET_ACCESS_KEY'),
    AWS_SESSION_TOKEN: canaries.plant('env AWS_SESSION_TOKEN'),
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${canaries.plant('env AccountKey')};EndpointSuffix=core.windows.net`,
    WAREHOUSE_API_TOKEN: canaries.plant('env WAREHOUSE_API_TOKEN'),
    WAREHOUSE_URL: `https://svc:${canaries.plant('component URL password')}@warehouse.example/api?region=eu&api_key=${canaries.plant('component URL api_key')}&X-Amz-Signature=${canaries.plant('component URL signature')}`,
    WAREHOUSE_CONNECTION: `Server=db.example;User Id=app;Password=${canaries.plant('component connection password')};`,
  };
}

const malformedUrl = (canaries: Canaries, where: string) =>
  `s3://AKIA${canaries.plant(`${where} user`)}:${canaries.plant(`${where} password`)}@bad bucket/p?x-amz-security-token=${canaries.plant(`${where} token`)}&X-Amz-Credential=${canaries.plant(`${where} credential`)}`;

const leakyUrl = (canaries: Canaries, where: string) =>
  `leaky://AKIA${canaries.plant(`${where} user`)}:${canaries.plant(`${where} password`)}@bucket/p?region=eu&token=${canaries.plant(`${where} token`)}&sig=${canaries.plant(`${where} sig`)}`;

interface Setup {
  name: string;
  inputs?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

const SETUPS: Array<(canaries: Canaries) => Setup> = [
  (c) => ({
    name: 'a malformed storage-url input',
    inputs: { 'storage-url': malformedUrl(c, 'input') },
  }),
  (c) => ({
    name: 'a malformed DEFSTATE_STORAGE_URL',
    env: { DEFSTATE_STORAGE_URL: malformedUrl(c, 'variable') },
  }),
  (c) => ({
    name: 'a storage-url whose store quotes it in every error',
    inputs: { 'storage-url': leakyUrl(c, 'leaky') },
  }),
  (c) => ({
    name: 'an instance-config with credentials',
    inputs: {
      'instance-config': `state_storage:
  adapter: defstate-storage-leaky
  options:
    url: "https://reader:${c.plant('yaml url password')}@leaky.example/p?sv=2024-05-04&sig=${c.plant('yaml url sig')}"
    connectionString: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${c.plant('yaml AccountKey')};EndpointSuffix=core.windows.net"
    accountKey: ${c.plant('yaml accountKey')}
`,
    },
  }),
  () => ({ name: 'the runner’s own disk', inputs: { pin: 'true', verify: 'true' } }),
];

/** The secrets of the URLs and variables a setup gives, by label: they must all be masked. */
const MUST_BE_MASKED =
  /(input|variable|leaky) (user|password|token|credential|sig)|env |component (URL|connection)|yaml /;

let workspace: Workspace;
afterEach(() => workspace?.cleanup());

/** Every file under `root`, by relative path, but for the packages the test installs. */
async function filesUnder(root: string, relative = ''): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(relative, entry.name);
    const stats = await lstat(join(root, path));
    if (stats.isDirectory()) Object.assign(files, await filesUnder(root, path));
    else if (stats.isFile()) files[path] = await readFile(join(root, path), 'latin1');
  }
  return files;
}

function channelsOf(run: ActionRun): Record<string, string> {
  const lines = run.stdout.split(/\r?\n/);
  return {
    'log as shown': shownLog(run.stdout),
    // Raw, too: only the masking commands themselves may hold a secret.
    'log, raw': lines.filter((line) => !line.startsWith('::add-mask::')).join('\n'),
    stderr: run.stderr,
    outputs: JSON.stringify(run.outputs),
    'env file': JSON.stringify(run.exported),
    summary: run.summary,
  };
}

describe('no secret reaches the job', () => {
  for (const setupOf of SETUPS) {
    const probe = setupOf(new Canaries());
    test(`with ${probe.name}`, { timeout: 120_000 }, async () => {
      const canaries = new Canaries();
      const setup = setupOf(canaries);
      workspace = await createWorkspace({
        'defstate.config.mjs': CONFIG,
        'node_modules/defstate-storage-leaky/package.json':
          '{ "name": "defstate-storage-leaky", "type": "module", "exports": "./index.mjs" }\n',
        'node_modules/defstate-storage-leaky/index.mjs': LEAKY_ADAPTER,
      });
      const run = await runAction(
        workspace,
        { 'working-directory': 'app', retries: '0', ...setup.inputs },
        { ...plantEnvironment(canaries), ...setup.env },
      );
      expect(run.code).toBe(1);
      // It failed for the planted reason, and said so.
      expect(workflowCommands(run.stdout).some((c) => c.command === 'error')).toBe(true);

      const channels = channelsOf(run);
      for (const [path, text] of Object.entries(await filesUnder(workspace.project))) {
        channels[`file ${path}`] = text;
      }
      expect(canaries.findIn(channels)).toEqual([]);

      // Every secret the step was given is masked before the first line it prints.
      const firstLine = run.stdout.split(/\r?\n/).findIndex((l) => !l.startsWith('::add-mask::'));
      const maskedFirst = new Set(
        run.stdout
          .split(/\r?\n/)
          .slice(0, firstLine)
          .map((line) => line.slice('::add-mask::'.length)),
      );
      const unmasked = [...canaries.planted]
        .filter(([label]) => MUST_BE_MASKED.test(label))
        // A user name is masked as written, AKIA… and all.
        .filter(([, value]) => !maskedFirst.has(value) && !maskedFirst.has(`AKIA${value}`))
        .map(([label]) => label);
      expect(unmasked).toEqual([]);
    });
  }
});
