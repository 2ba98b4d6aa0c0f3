import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// The small things a user reads: suggestions, where the config is found, what an empty or broken
// config says, and help text that fits the command.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) =>
  runDefstate(args, {
    cwd: options.cwd ?? sandbox.project,
    env: { ...sandbox.env, ...options.env },
  });

const project = configModule([
  ['warehouse-catalog', 'versioned', `await writeFile(statePath, 'W');`],
  ['services', 'local', `await writeFile(statePath, 'S');`],
]);

describe('unknown keys', () => {
  beforeEach(async () => {
    await sandbox.write('defstate.config.mjs', project);
    expect((await run(['refresh'])).code).toBe(0);
  });

  it('history and rollback suggest the nearest declared key', async () => {
    const history = await run(['history', 'warehouse-catalgo']);
    expect(history.code).toBe(2);
    expect(history.stderr).toContain('Did you mean "warehouse-catalog"?');
    const rollback = await run([
      'rollback',
      'warehouse-catalgo',
      '--to',
      '20260101T000000000Z-000000000000',
    ]);
    expect(rollback.code).toBe(2);
    expect(rollback.stderr).toContain('Did you mean "warehouse-catalog"?');
  });

  it('history and rollback say when a key is local and so has no history', async () => {
    const history = await run(['history', 'services']);
    expect(history.code).toBe(2);
    expect(history.stderr).toMatch(/"services" is local.*no history/);
    const rollback = await run([
      'rollback',
      'services',
      '--to',
      '20260101T000000000Z-000000000000',
    ]);
    expect(rollback.code).toBe(2);
    expect(rollback.stderr).toMatch(/"services" is local/);
  });
});

describe('the project config', () => {
  it('is found by searching upward from the working folder', async () => {
    await sandbox.write('defstate.config.mjs', project);
    const nested = join(sandbox.project, 'src', 'deep');
    await mkdir(nested, { recursive: true });
    const result = await run(['refresh', '-k', 'services'], { cwd: nested });
    expect(result.code, result.stderr).toBe(0);
    const status = JSON.parse((await run(['status', '--json'], { cwd: nested })).stdout);
    expect(
      status.keys.find((key: { key: string }) => key.key === 'services').version,
    ).not.toBeNull();
  });

  it('--project names the folder exactly, without searching upward', async () => {
    await sandbox.write('defstate.config.mjs', project);
    await mkdir(join(sandbox.project, 'sub'), { recursive: true });
    const result = await run(['status', '--project', join(sandbox.project, 'sub')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No project config found');
  });

  it('without a default export says so', async () => {
    await sandbox.write('defstate.config.mjs', `export const components = [];\n`);
    const result = await run(['status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('has no default export');
    expect(result.stderr).not.toContain('components must be an array');
  });

  it('with no components warns and exits 0', async () => {
    await sandbox.write('defstate.config.mjs', `export default { components: [] };\n`);
    for (const command of [['refresh'], ['status'], ['verify'], ['deploy']]) {
      const result = await run(command);
      expect(result.code, `${command}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toMatch(/declares no components/);
    }
  });
});

describe('help and echoes', () => {
  it('shows no "(default: [])", and the exit codes only where they apply', async () => {
    const prune = await run(['prune', '--help']);
    expect(prune.stdout).not.toContain('(default: [])');
    const scaffold = await run(['scaffold', '--help']);
    expect(scaffold.stdout).not.toMatch(/130/);
    expect(scaffold.stdout).not.toMatch(/a refresh or check failed/);
    const status = await run(['status', '--help']);
    expect(status.stdout).not.toMatch(/130/);
    const refresh = await run(['refresh', '--help']);
    expect(refresh.stdout).toMatch(/130/);
    expect(refresh.stdout).toMatch(/143/);
  });

  it('echoes --timeout as it was written', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      configModule([['stuck', 'local', `await new Promise(() => {});`]]),
    );
    const result = await run(['refresh', '--timeout', '300ms', '--retries', '0']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('300ms');
    expect(result.stdout).not.toMatch(/300 ms/);
  });

  it('counts in words: "1 key", never "key(s)"', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      configModule([['broken', 'local', `throw new Error('no');`]]),
    );
    const result = await run(['deploy']);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toContain('(s)');
  });
});

describe('docs/ci.md, on verify --max-age right after a deploy', () => {
  it('passes for a key the deploy confirmed unchanged, and counts from creation without the record', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      configModule([['catalog', 'local', `await writeFile(statePath, 'same bytes');`]]),
    );
    expect((await run(['refresh'])).code).toBe(0);
    // The state is created, then 4 s later a deploy confirms it unchanged: 3 s of maximum age
    // leave a busy machine time to start `verify`, and still call the state's creation too old.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const deploy = await run(['deploy', '--json']);
    expect(JSON.parse(deploy.stdout).results[0].status).toBe('unchanged');
    const verify = await run(['verify', '--max-age', '3s']);
    expect(verify.code, verify.stderr).toBe(0);
    const { rm } = await import('node:fs/promises');
    await rm(join(sandbox.project, '.local_defs_state', '.last-refresh.json'));
    const fresh = await run(['verify', '--max-age', '3s']);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/stale/);
  });
});
