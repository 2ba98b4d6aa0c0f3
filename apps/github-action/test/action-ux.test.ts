import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createWorkspace, runAction, type Workspace, workflowCommands } from './helpers.js';

// What a user reads in a job's log, run as the runner runs the bundle: grouped logs, annotations
// labelled by what they are, the action's own words (its inputs, never the CLI's flags).

const CONFIG = `import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath, log }) => {
      log('listing tables');
      log('found 3');
      await writeFile(statePath, process.env.CATALOG ?? 'tables: 3');
    } },
    { key: 'flags', management: 'versioned', refresh: async ({ statePath }) => {
      if (process.env.BREAK_FLAGS) null.flags;
      await writeFile(statePath, 'flags');
    } },
  ],
};
`;

let workspace: Workspace;
beforeEach(async () => {
  workspace = await createWorkspace({ 'defstate.config.mjs': CONFIG });
});
afterEach(() => workspace.cleanup());

const storage = () => `file://${join(workspace.root, 'store')}`;

describe('the job log', () => {
  test('groups each key’s log lines under its result line', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'storage-url': storage(),
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const commands = workflowCommands(run.stdout).map((c) => `${c.command} ${c.message}`);
    const group = commands.findIndex((line) => /^group ✓ catalog refreshed/.test(line));
    expect(group).toBeGreaterThanOrEqual(0);
    expect(commands[group + 1]).toBe('endgroup ');
    const lines = run.stdout.split('\n');
    const start = lines.findIndex((line) => line.startsWith('::group::✓ catalog refreshed'));
    expect(lines.slice(start + 1, start + 4)).toEqual([
      '[catalog] listing tables',
      '[catalog] found 3',
      '::endgroup::',
    ]);
    // A key that logged nothing gets its line, with no empty group.
    expect(lines.some((line) => line.startsWith('✓ flags refreshed'))).toBe(true);
  });

  test('labels a failed key as an error and the pins it prevented as a notice, with no error codes', async () => {
    const run = await runAction(
      workspace,
      { 'working-directory': 'app', 'storage-url': storage(), pin: 'true', retries: '0' },
      { BREAK_FLAGS: '1' },
    );
    expect(run.code).toBe(1);
    const commands = workflowCommands(run.stdout);
    const keyError = commands.find((c) => c.properties.title === 'defstate: flags failed');
    expect(keyError?.command).toBe('error');
    expect(keyError?.message).not.toMatch(/REFRESH_FAILED|USAGE/);
    const notPinned = commands.find((c) => c.properties.title === 'defstate: not pinned');
    expect(notPinned?.command).toBe('notice');
    expect(notPinned?.message).toMatch(/1 key failed/);
    expect(notPinned?.message).not.toMatch(/USAGE|\(s\)/);
    // No stack unless asked for.
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('DEFSTATE_DEBUG (or the runner’s debug logging) adds cause chains with stack traces on stderr', async () => {
    for (const env of [{ DEFSTATE_DEBUG: '1' }, { RUNNER_DEBUG: '1' }]) {
      const run = await runAction(
        workspace,
        { 'working-directory': 'app', 'storage-url': storage(), retries: '0' },
        { BREAK_FLAGS: '1', ...env },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/caused by: TypeError: Cannot read properties of null/);
      expect(run.stderr).toMatch(/defstate\.config\.mjs:\d+:\d+/);
      expect(run.stdout).not.toMatch(/defstate\.config\.mjs:\d+:\d+/);
    }
  });
});

describe('messages in the action’s own words', () => {
  test('the missing-store warning names the action’s inputs', async () => {
    const run = await runAction(workspace, { 'working-directory': 'app' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const [warning] = workflowCommands(run.stdout).filter((c) => c.command === 'warning');
    expect(warning?.message).toContain('instance-config');
    expect(warning?.message).toContain('storage-url');
    expect(warning?.message).not.toMatch(/--storage|DEFSTATE_HOME is not set/);
  });

  test('a missing project config names working-directory, not --project', async () => {
    const run = await runAction(workspace, { 'working-directory': 'app/nothing-here' });
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toContain('No project config found');
    expect(error?.message).toContain('working-directory');
    expect(error?.message).not.toMatch(/--[a-z]/);
    expect(error?.properties.title).toBe('defstate: configuration error');
  });

  test('a missing adapter says what to install, without Node’s require stack', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'storage-url': 's3://bucket/prefix?region=us-east-1',
    });
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toContain('storage adapter "s3" is not installed');
    expect(error?.message).toContain('@defstate/storage-s3');
    expect(error?.message).not.toContain('Require stack');
    expect(run.summary).not.toContain('Require stack');
  });

  test('an instance-config error is reported at its real line of the input', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'instance-config':
        'state_storage:\n  adapter: file\n  options:\n    path: /tmp/x\n  optoins: {}\n',
    });
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toMatch(/^input instance-config, line 5/);
    expect(error?.message).toContain('Unrecognized key: "optoins"');
  });

  test('verify counts its problems in words', async () => {
    const common = { 'working-directory': 'app', 'storage-url': storage() };
    expect((await runAction(workspace, { ...common, pin: 'true' })).code).toBe(0);
    // Refreshed without pinning: the tree no longer holds the pinned version.
    const run = await runAction(
      workspace,
      { ...common, keys: 'catalog', verify: 'true' },
      { CATALOG: 'tables: 4' },
    );
    expect(run.code).toBe(1);
    const last = workflowCommands(run.stdout)
      .filter((c) => c.command === 'error')
      .at(-1);
    expect(last?.message).toContain('verify found 1 problem;');
  });
});

describe('run-time dependencies', () => {
  test('warns when the adapter the store needs is only a devDependency', async () => {
    await writeFile(
      join(workspace.project, 'package.json'),
      JSON.stringify({
        name: 'app',
        dependencies: { '@defstate/core': '0.1.0' },
        devDependencies: { '@defstate/storage-s3': '0.1.0' },
      }),
    );
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'storage-url': 's3://bucket/prefix?region=us-east-1',
    });
    const warning = workflowCommands(run.stdout).find(
      (c) => c.command === 'warning' && c.message.includes('@defstate/storage-s3'),
    );
    expect(warning?.message).toMatch(/only a devDependency/);
    expect(warning?.properties.title).toBe('defstate: run-time dependency');
  });
});

describe('a cancelled job', () => {
  test('is reported as cancelled, with no key counted as failed', async () => {
    const marker = join(workspace.root, 'started');
    await writeFile(
      join(workspace.project, 'defstate.config.mjs'),
      `import { writeFile } from 'node:fs/promises';
export default { components: [
  { key: 'quick', management: 'local', refresh: ({ statePath }) => writeFile(statePath, 'q') },
  { key: 'slow', management: 'local', refresh: async ({ signal }) => {
    await writeFile(${JSON.stringify(marker)}, '');
    await new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  } },
] };
`,
    );
    const run = await runAction(
      workspace,
      { 'working-directory': 'app', concurrency: '2', retries: '0' },
      {},
      (child) => {
        const timer = setInterval(() => {
          if (existsSync(marker)) {
            clearInterval(timer);
            child.kill('SIGTERM');
          }
        }, 20);
      },
    );
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ refreshed: '1', failed: '0' });
    expect(run.summary).toContain('defstate refresh (cancelled)');
    expect(run.summary).toMatch(/1 refreshed, 0 unchanged, 0 failed, 1 cancelled/);
    const errors = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(errors.map((c) => c.properties.title)).toEqual(['defstate']);
    expect(errors[0]?.message).toContain('the run was cancelled');
  });
});
