import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode } from '../../../tools/testing/run-node.mjs';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// Development mode with real processes: apps whose loadState() refreshes missing state, `defstate
// dev` running a command, and `--watch` restarting it. Every refresh appends to refreshes.log.

const CORE = new URL('../../core/dist/index.js', import.meta.url).href;

let sandbox: Sandbox;
let prodHome: string;
beforeEach(async () => {
  sandbox = await createSandbox();
  // The configured (production) store: development mode must never write to it.
  prodHome = join(sandbox.home, 'prod-home');
  await sandbox.write(
    '../home/prod-home/defstate.yaml',
    `state_storage:\n  adapter: file\n  options:\n    path: ${join(sandbox.home, 'prod-store')}\n`,
  );
  sandbox.env.DEFSTATE_HOME = prodHome;
  await sandbox.write(
    'defstate.config.mjs',
    `import { appendFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { catalog } from './sources/catalog.mjs';
export default { components: [
  { key: 'catalog', management: 'versioned', refresh: async ({ statePath }) => {
    await sleep(500); // long enough for a second process to ask meanwhile
    await appendFile('refreshes.log', 'catalog\\n');
    await writeFile(statePath, catalog);
  } },
  { key: 'notes', management: 'local', refresh: async ({ statePath }) => {
    await appendFile('refreshes.log', 'notes\\n');
    await writeFile(statePath, 'notes');
  } },
  { key: 'manual', management: 'versioned', refreshIfDev: false, refresh: async ({ statePath }) => {
    await appendFile('refreshes.log', 'manual\\n');
    await writeFile(statePath, 'manual');
  } },
] };
`,
  );
  await sandbox.write('sources/catalog.mjs', "export const catalog = 'catalog v1';\n");
  await sandbox.write(
    'app.mjs',
    `import { readFile } from 'node:fs/promises';
import { loadState } from ${JSON.stringify(CORE)};
const key = process.argv[2] ?? 'catalog';
const maxAgeMs = process.env.MAX_AGE_MS ? Number(process.env.MAX_AGE_MS) : undefined;
try {
  const state = await loadState(key, { maxAgeMs });
  console.log(JSON.stringify({ version: state.version, text: await readFile(state.path, 'utf8'), dev: process.env.DEFSTATE_DEV ?? null }));
} catch (error) {
  console.log(JSON.stringify({ error: error.code, message: error.message }));
}
process.exitCode = Number(process.env.EXIT_CODE ?? 0);
`,
  );
});
afterEach(async () => {
  await sandbox.cleanup();
});

const app = (args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  runNode([join(sandbox.project, 'app.mjs'), ...args], {
    cwd: sandbox.project,
    env: { ...sandbox.env, ...env },
  });
const run = (
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onSpawn?: (child: ChildProcess) => void,
) => runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env }, onSpawn });
const refreshes = async () =>
  (await readFile(join(sandbox.project, 'refreshes.log'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean);
const loaded = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop() as string);
const prodStore = () => join(sandbox.home, 'prod-store');
const devStore = () => join(sandbox.home, 'state', 'defstate', 'storage');

describe('development mode', () => {
  it('two app processes started together refresh a missing key once, into the development store', async () => {
    const [first, second] = await Promise.all([
      app([], { DEFSTATE_DEV: '1' }),
      app([], { DEFSTATE_DEV: '1' }),
    ]);
    for (const result of [first, second]) expect(result.code, result.stderr).toBe(0);
    expect(await refreshes()).toEqual(['catalog']);
    const [a, b] = [loaded(first.stdout), loaded(second.stdout)];
    expect(a.text).toBe('catalog v1');
    expect(b.version).toBe(a.version);
    // Said once per process, naming the development store; the configured store is untouched.
    expect(first.stderr).toContain(
      `Development mode: versioned state is read and refreshed in file://${devStore()}`,
    );
    expect(existsSync(prodStore())).toBe(false);
    expect(await readdir(devStore())).toContain('layout.json');

    // Present now: a third process refreshes nothing; with maxAgeMs it refreshes what is older.
    expect(loaded((await app([], { DEFSTATE_DEV: '1' })).stdout).version).toBe(a.version);
    expect(await refreshes()).toEqual(['catalog']);
    await delay(50);
    await app([], { DEFSTATE_DEV: '1', MAX_AGE_MS: '10' });
    expect(await refreshes()).toEqual(['catalog', 'catalog']);
  });

  it('is off with NODE_ENV=production or CI set, and for a component with refreshIfDev: false', async () => {
    for (const env of [{ NODE_ENV: 'production' }, { CI: 'true' }]) {
      const result = await app([], { DEFSTATE_DEV: '1', ...env });
      expect(loaded(result.stdout).error).toBe('STATE_NOT_FOUND');
      expect(result.stderr).toContain('DEFSTATE_DEV is set but ignored');
    }
    const manual = await app(['manual'], { DEFSTATE_DEV: '1' });
    expect(loaded(manual.stdout).error).toBe('STATE_NOT_FOUND');
    expect(await refreshes()).toEqual([]);
    const refused = await run(['dev', '--', 'node', 'app.mjs'], { CI: '1' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('defstate dev is for development, and CI is set');
  });

  it('defstate dev refreshes first, then runs the command in development mode, with its exit code', async () => {
    const result = await run(['dev', '--', process.execPath, 'app.mjs'], { EXIT_CODE: '3' });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(
      `development mode: versioned state is refreshed into file://${devStore()}`,
    );
    expect(result.stderr).toContain('not refreshing "manual" (refreshIfDev: false)');
    // Each key once, before the command; the command's loadState found it and refreshed nothing.
    expect((await refreshes()).sort()).toEqual(['catalog', 'notes']);
    expect(loaded(result.stdout)).toMatchObject({ text: 'catalog v1', dev: '1' });
    // The command said nothing more about the store: `defstate dev` did.
    expect(result.stderr).not.toContain('Development mode: versioned state');
    expect(existsSync(prodStore())).toBe(false);
    // --storage names another development store; -k one key.
    const other = join(sandbox.home, 'other-dev-store');
    const named = await run(['dev', '-k', 'catalog', '--storage', `file://${other}`]);
    expect(named.code, named.stderr).toBe(0);
    expect(await readdir(other)).toContain('layout.json');
  });

  it('--watch refreshes again and restarts the command when a component’s source changes', async () => {
    await sandbox.write(
      'server.mjs',
      `import { readFile } from 'node:fs/promises';
import { loadState } from ${JSON.stringify(CORE)};
const state = await loadState('catalog');
console.log('serving ' + await readFile(state.path, 'utf8'));
setInterval(() => {}, 1000);
process.on('SIGTERM', () => { console.log('server stopped'); process.exit(0); });
`,
    );
    let dev: ChildProcess | undefined;
    let output = '';
    const running = run(
      ['dev', '--watch', '-k', 'catalog', '--', process.execPath, 'server.mjs'],
      {},
      (child) => {
        dev = child;
        child.stdout?.on('data', (chunk) => {
          output += chunk;
        });
      },
    );
    const waitFor = async (text: string) => {
      for (let waited = 0; !output.includes(text); waited += 100) {
        if (waited > 30_000) throw new Error(`no "${text}" in:\n${output}`);
        await delay(100);
      }
    };
    await waitFor('serving catalog v1');
    await writeFile(
      join(sandbox.project, 'sources', 'catalog.mjs'),
      "export const catalog = 'catalog v2';\n",
    );
    await waitFor('serving catalog v2');
    expect(output.indexOf('server stopped')).toBeLessThan(output.indexOf('serving catalog v2'));
    expect(await refreshes()).toEqual(['catalog', 'catalog']);
    dev?.kill('SIGTERM');
    const result = await running;
    expect(result.code).toBe(143);
    expect(result.stderr).toContain('watching 2 files');
    expect(result.stderr).not.toContain('waiting for a change');
  });

  it('describes dev in --help', async () => {
    const help = await run(['dev', '--help']);
    expect(help.stdout).toContain('Usage: defstate dev [options] [command...]');
    for (const flag of ['--watch', '--storage <url>', '--key <key>', 'refreshIfDev: false']) {
      expect(help.stdout).toContain(flag);
    }
    expect((await run(['--help'])).stdout).toContain('dev [options] [command...]');
  });
});
