import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// These tests spawn the built `defstate` in throwaway projects, as a user or CI would run it.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function statusJson(args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const result = await run(['status', '--json', ...args], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as {
    schemaVersion: number;
    keys: Array<{
      key: string;
      management: string;
      version: string | null;
      sha256: string | null;
      size: number | null;
      createdAt: string | null;
    }>;
  };
}

const twoKinds = configModule([
  ['alpha', 'local', `await writeFile(statePath, 'A');`],
  [
    'beta/β',
    'versioned',
    `await writeFile(statePath, await import('node:fs/promises').then((fs) => fs.readFile('source.txt')));`,
  ],
]);

describe('defstate refresh and status', () => {
  it('refreshes both management types, then reports unchanged state as unchanged', async () => {
    await sandbox.write('defstate.config.mjs', twoKinds);
    await sandbox.write('source.txt', 'B1');

    const first = await run(['refresh']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/✓ alpha \(local\) refreshed/);
    expect(first.stdout).toMatch(/✓ beta\/β \(versioned\) refreshed/);
    expect(first.stderr).toContain('DEFSTATE_HOME is not set');
    expect(await readFile(join(sandbox.project, '.local_defs_state/alpha/state'), 'utf8')).toBe(
      'A',
    );
    expect(await readFile(join(sandbox.project, '.local_defs_state/.gitignore'), 'utf8')).toMatch(
      /^\*$/m,
    );

    const status = await statusJson();
    expect(status.schemaVersion).toBe(1);
    const byKey = Object.fromEntries(status.keys.map((entry) => [entry.key, entry]));
    expect(byKey.alpha).toMatchObject({ management: 'local', sha256: sha256('A'), size: 1 });
    expect(byKey['beta/β']).toMatchObject({
      management: 'versioned',
      sha256: sha256('B1'),
      size: 2,
    });

    const second = await run(['refresh', '--json']);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.results.map((result: { status: string }) => result.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    expect(report.stateInfoWrites).toBe(0);
    expect(report.results.find((result: { key: string }) => result.key === 'beta/β').version).toBe(
      byKey['beta/β']?.version,
    );

    await sandbox.write('source.txt', 'B2');
    const third = JSON.parse((await run(['refresh', '--json'])).stdout);
    const beta = third.results.find((result: { key: string }) => result.key === 'beta/β');
    expect(beta.status).toBe('refreshed');
    expect(beta.version > (byKey['beta/β']?.version ?? '')).toBe(true);
  });

  it('fails the run for a failing component, prints its cause, and still commits the others', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      configModule([
        ['good-local', 'local', `await writeFile(statePath, 'ok');`],
        ['good-versioned', 'versioned', `await writeFile(statePath, 'ok');`],
        ['broken', 'versioned', `throw new Error('catalog API answered 401');`],
      ]),
    );
    const result = await run(['refresh']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ broken (versioned) failed');
    expect(result.stdout).toContain('catalog API answered 401');
    const status = await statusJson();
    const versions = Object.fromEntries(status.keys.map((entry) => [entry.key, entry.version]));
    expect(versions['good-local']).not.toBeNull();
    expect(versions['good-versioned']).not.toBeNull();
    expect(versions.broken).toBeNull();
  });

  it('filters by key and by management type', async () => {
    await sandbox.write('defstate.config.mjs', twoKinds);
    await sandbox.write('source.txt', 'B');
    expect((await run(['refresh', '--key', 'alpha'])).code).toBe(0);
    let versions = (await statusJson()).keys.map((entry) => entry.version !== null);
    expect(versions).toEqual([true, false]);

    const versionedOnly = JSON.parse((await run(['refresh', '-m', 'versioned', '--json'])).stdout);
    expect(versionedOnly.results.map((result: { key: string }) => result.key)).toEqual(['beta/β']);
    versions = (await statusJson(['-m', 'versioned'])).keys.map((entry) => entry.version !== null);
    expect(versions).toEqual([true]);
  });

  it('rejects an unknown key with the known ones, exit 2, and writes nothing', async () => {
    await sandbox.write('defstate.config.mjs', twoKinds);
    const result = await run(['refresh', '--key', 'alpha', '--key', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown key "nope"');
    expect(result.stderr).toContain('"alpha", "beta/β"');
    expect(existsSync(join(sandbox.project, '.local_defs_state'))).toBe(false);
  });

  it('uses the storage named by DEFSTATE_HOME and by --storage', async () => {
    await sandbox.write('defstate.config.mjs', twoKinds);
    await sandbox.write('source.txt', 'B');
    const home = join(sandbox.home, 'instance');
    await sandbox.write(
      '../home/instance/defstate.yaml',
      'state_storage:\n  adapter: file\n  options:\n    path: ./objects\n',
    );
    const viaHome = await run(['refresh', '-m', 'versioned'], { DEFSTATE_HOME: home });
    expect(viaHome.code, viaHome.stderr).toBe(0);
    expect(viaHome.stderr).not.toContain('DEFSTATE_HOME is not set');
    expect(existsSync(join(home, 'objects', 'state-info.json'))).toBe(true);

    const url = `file://${join(sandbox.home, 'by-url')}`;
    expect((await run(['refresh', '-m', 'versioned', '--storage', url])).code).toBe(0);
    expect(existsSync(join(sandbox.home, 'by-url', 'state-info.json'))).toBe(true);
    const viaUrl = await statusJson(['--storage', url]);
    expect(viaUrl.keys.find((entry) => entry.key === 'beta/β')?.sha256).toBe(sha256('B'));
  });

  it('reports a broken defstate.yaml with its file and line, exit 2', async () => {
    await sandbox.write('defstate.config.mjs', twoKinds);
    await sandbox.write('source.txt', 'B');
    const home = join(sandbox.home, 'instance');
    await sandbox.write('../home/instance/defstate.yaml', 'state_storage:\n  adapter: 42\n');
    const badType = await run(['refresh'], { DEFSTATE_HOME: home });
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain(`${join(home, 'defstate.yaml')}:2`);
    expect(badType.stderr).toContain('state_storage.adapter');

    await sandbox.write(
      '../home/instance/defstate.yaml',
      'state_storage:\n  adapter: file\n  options: [unclosed\n',
    );
    const badYaml = await run(['status'], { DEFSTATE_HOME: home });
    expect(badYaml.code).toBe(2);
    expect(badYaml.stderr).toMatch(/defstate\.yaml:\d+: invalid YAML/);
  });

  it('reports a broken project config with its file, exit 2', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      'export default { components: [{ key: "a", management: "cloud", refresh() {} }] };\n',
    );
    const result = await run(['refresh']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('defstate.config.mjs');
    expect(result.stderr).toContain('components.0.management');
  });

  it('retries a transient failure and stops an attempt at the timeout', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      configModule([
        [
          'flaky',
          'local',
          `if (attempt === 1) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }); await writeFile(statePath, 'ok');`,
        ],
        ['stuck', 'local', `await new Promise(() => {});`],
      ]),
    );
    const result = await run(['refresh', '--json', '--retries', '2', '--timeout', '300ms']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    const byKey = Object.fromEntries(
      report.results.map((entry: { key: string }) => [entry.key, entry]),
    );
    expect(byKey.flaky).toMatchObject({ status: 'refreshed', attempts: 2 });
    expect(byKey.stuck.status).toBe('failed');
    expect(byKey.stuck.error.code).toBe('TIMEOUT');
  });

  it('leaves the previous state intact when a refresh is killed mid-write', async () => {
    const marker = join(sandbox.project, 'writing.marker');
    await sandbox.write(
      'defstate.config.mjs',
      configModule([
        [
          'local-key',
          'local',
          `await writeFile(statePath, process.env.MODE ?? 'OLD'); if (process.env.MODE === 'hang') { await writeFile(${JSON.stringify(marker)}, ''); await new Promise(() => {}); }`,
        ],
        [
          'versioned-key',
          'versioned',
          `await writeFile(statePath, process.env.MODE ?? 'OLD'); if (process.env.MODE === 'hang') await new Promise(() => {});`,
        ],
      ]),
    );
    expect((await run(['refresh'])).code).toBe(0);
    const before = await statusJson();

    const killed = await runDefstate(['refresh'], {
      cwd: sandbox.project,
      env: { ...sandbox.env, MODE: 'hang' },
      onSpawn: (child) => {
        const timer = setInterval(() => {
          if (existsSync(marker)) {
            clearInterval(timer);
            child.kill('SIGKILL');
          }
        }, 20);
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(await readFile(join(sandbox.project, '.local_defs_state/local-key/state'), 'utf8')).toBe(
      'OLD',
    );
    expect(await statusJson()).toEqual(before);

    const after = await run(['refresh'], { MODE: 'NEW' });
    expect(after.code).toBe(0);
    expect(await readFile(join(sandbox.project, '.local_defs_state/local-key/state'), 'utf8')).toBe(
      'NEW',
    );
    // The killed run's staging folder is collected by the next run, which leaves none behind.
    expect(existsSync(join(sandbox.project, '.local_defs_state/.staging'))).toBe(false);
  });
});

describe('output', () => {
  beforeEach(async () => {
    await sandbox.write('defstate.config.mjs', twoKinds);
    await sandbox.write('source.txt', 'B');
  });

  it('writes plain lines off a terminal, colour only when forced and never with NO_COLOR', async () => {
    const plain = await run(['refresh']);
    expect(plain.stdout + plain.stderr).not.toContain('\u001b');
    const forced = await run(['status'], { FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\u001b[');
    const noColor = await run(['status'], { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(noColor.stdout).not.toContain('\u001b');
  });

  it('keeps stdout for JSON alone with --json', async () => {
    const result = await run(['refresh', '--json']);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
    expect(JSON.parse(result.stdout)).toMatchObject({ schemaVersion: 1, ok: true });
  });

  it('prints null fields for keys without state', async () => {
    const status = await statusJson();
    const nothing = {
      version: null,
      createdAt: null,
      sha256: null,
      size: null,
      generation: null,
      pinnedVersion: null,
      lastRefresh: null,
      health: 'no-state',
      problems: ['no-state'],
    };
    expect(status.keys).toEqual([
      expect.objectContaining({ key: 'alpha', management: 'local', ...nothing }),
      expect.objectContaining({ key: 'beta/β', management: 'versioned', ...nothing }),
    ]);
  });

  it('draws a live view on a terminal', async () => {
    // `script` gives the command a pseudo-terminal, as an interactive shell would.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} refresh`;
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], {
      cwd: sandbox.project,
      env: { ...sandbox.env, TERM: 'xterm-256color' },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('\u001b[');
    expect(result.stdout).toMatch(/Refreshing \d+\/2/);
    expect(result.stdout).toMatch(/✓.*alpha.*refreshed/);
  });
});
