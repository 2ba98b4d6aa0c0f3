import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resolveStorage } from '@defstate/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  type ActionRun,
  createWorkspace,
  installPackages,
  runAction,
  shownLog,
  type Workspace,
  workflowCommands,
} from './helpers.js';

// The bundle, run as the runner runs it, against the embedded file store.

const CONFIG_MJS = `import { writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => writeFile(statePath, process.env.CATALOG ?? 'tables: 3') },
    { key: 'team/connectors', management: 'versioned', refresh: async ({ statePath }) => writeFile(statePath, 'connectors: 12') },
  ],
};
`;

// A TypeScript config (loaded through jiti inside the bundle) whose third component fails.
const CONFIG_TS = `import { writeFile } from 'node:fs/promises';
import { defineConfig } from '@defstate/core';

enum Size { Small = 1 }
const sizes: Record<string, Size> = { catalog: Size.Small };

export default defineConfig({
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => writeFile(statePath, 'x'.repeat(sizes.catalog ?? 0)) },
    { key: 'team/connectors', management: 'versioned', refresh: async ({ statePath }) => writeFile(statePath, 'connectors: 12') },
    { key: 'warehouse, eu', management: 'versioned', refresh: async ({ statePath, log }) => {
      // A component that echoes a credential it was given, as a careless one might.
      if (process.env.NOTIFY_TOKEN) log(\`calling the catalog API with token \${process.env.NOTIFY_TOKEN}\`);
      if (process.env.BREAK_WAREHOUSE) throw new Error(\`warehouse unreachable: 503 from catalog API (token \${process.env.NOTIFY_TOKEN})\`);
      await writeFile(statePath, 'rows: 9');
    } },
  ],
});
`;

const SECRET = 'Zq8sJ2vN5xT1mK9pR4wY7cB3';

const instanceConfig = (storePath: string) => `# the file store, as a secret would hold it
state_storage:
  adapter: file
  options:
    path: ${storePath}
notify_token: ${SECRET}
`;

/**
 * The log as the runner shows it never has the secret in clear: every line that holds it comes
 * after an `::add-mask::` that hides it. Nor do stderr, the summary or the outputs.
 */
function expectSecretHidden(run: ActionRun) {
  expect(shownLog(run.stdout)).not.toContain(SECRET);
  expect(run.stderr).not.toContain(SECRET);
  expect(run.summary).not.toContain(SECRET);
  expect(JSON.stringify(run.outputs)).not.toContain(SECRET);
}

/** What a run that stopped before refreshing anything sets. */
const NO_RUN_OUTPUTS = {
  versions: '{}',
  refreshed: '0',
  unchanged: '0',
  failed: '0',
  'pin-file': '',
};

let workspace: Workspace;
afterEach(() => workspace.cleanup());

describe('against the file store', () => {
  beforeEach(async () => {
    workspace = await createWorkspace({ 'defstate.config.mjs': CONFIG_MJS });
  });

  test('refreshes every key, sets the outputs and writes the summary table', async () => {
    const storage = `file://${join(workspace.root, 'store')}`;
    const first = await runAction(workspace, {
      'working-directory': 'app',
      'storage-url': storage,
    });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.outputs).toMatchObject({ refreshed: '2', unchanged: '0', failed: '0' });
    const versions = JSON.parse(first.outputs.versions ?? '{}') as Record<string, string>;
    expect(Object.keys(versions).sort()).toEqual(['catalog', 'team/connectors']);
    expect(versions.catalog).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]+$/);
    expect(versions['team/connectors']).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]+$/);
    expect(first.summary).toContain(
      '| Key | Management | Status | Version | Updated | Size | Duration |',
    );
    expect(first.summary).toMatch(
      new RegExp(
        `\\| <code>team/connectors</code> \\| versioned \\| ✅ refreshed \\| <code>${versions['team/connectors']}</code> \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\| 14 B \\|`,
      ),
    );
    expect(first.stdout).toContain('✓ team/connectors refreshed');
    expect(workflowCommands(first.stdout).filter((c) => c.command === 'error')).toEqual([]);

    // The same bytes again: nothing new is written, and the outputs say so.
    const second = await runAction(workspace, {
      'working-directory': 'app',
      'storage-url': storage,
    });
    expect(second.code).toBe(0);
    expect(second.outputs).toMatchObject({ refreshed: '0', unchanged: '2', failed: '0' });
    expect(JSON.parse(second.outputs.versions ?? '{}')).toEqual(versions);
  });

  test('keys and management-types select what is refreshed', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      keys: 'catalog\nteam/connectors',
      'management-types': 'local',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.outputs.versions ?? '{}')).toEqual({ catalog: expect.any(String) });
    expect(run.summary).not.toContain('team/connectors');
  });

  test('a versioned key with no storage configured warns that the store is the runner’s own', async () => {
    const run = await runAction(workspace, { 'working-directory': 'app' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const warnings = workflowCommands(run.stdout).filter((c) => c.command === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('No storage is configured');
  });

  test('verify fails the step when the tree no longer matches the pins', async () => {
    const storage = `file://${join(workspace.root, 'store')}`;
    const common = { 'working-directory': 'app', 'storage-url': storage };
    const pinned = await runAction(workspace, { ...common, pin: 'true', verify: 'true' });
    expect(pinned.code, pinned.stdout + pinned.stderr).toBe(0);

    // Refreshed without pinning: the local state in the tree is no longer the pinned version.
    const run = await runAction(
      workspace,
      { ...common, keys: 'catalog', verify: 'true' },
      { CATALOG: 'tables: 4' },
    );
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ refreshed: '1', failed: '0' });
    const errors = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    const problem = errors.find((c) => c.properties.title === 'defstate verify: catalog');
    expect(problem?.message).toMatch(/^catalog: pin-mismatch: /);
    expect(errors.at(-1)?.message).toContain('verify found 1 problem;');
    expect(run.summary).toContain('| Key | Problem | Details |');
    expect(run.summary).toMatch(/\| <code>catalog<\/code> \| pin-mismatch \| /);
  });

  test('a broken project config is annotated on its file in the repository', async () => {
    await writeFile(
      join(workspace.project, 'defstate.config.mjs'),
      'export default { components: 3 };\n',
    );
    const run = await runAction(workspace, { 'working-directory': 'app' });
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.properties).toEqual({
      title: 'defstate: configuration error',
      file: 'app/defstate.config.mjs',
    });
    expect(error?.message).toContain('at components: components must be an array of components');
    expect(run.summary).toContain('components must be an array of components');
  });

  test('an input that cannot work fails before anything runs, naming the input', async () => {
    const run = await runAction(workspace, { 'working-directory': 'app', concurrency: 'zero' });
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toContain('input concurrency: "zero" is not a whole number ≥ 1');
    // Numbers and JSON still, so `if: steps.state.outputs.failed != '0'` and fromJSON() work.
    expect(run.outputs).toEqual(NO_RUN_OUTPUTS);
  });

  test('what a component logs or throws is shown, never obeyed as a workflow command', async () => {
    await writeFile(
      join(workspace.project, 'defstate.config.mjs'),
      `export default { components: [
  { key: 'hostile', management: 'local', refresh: async ({ log }) => {
    log('fetched 3 rows\\n::warning::injected from a log line\\n  ::add-mask::rows\\r##[error]legacy form');
    log('::stop-commands::s70p');
    throw new Error('upstream said:\\n::error title=fake::injected from an error\\n##[set-output name=failed]0\\n::s70p::');
  } },
] };
`,
    );
    const run = await runAction(workspace, { 'working-directory': 'app', retries: '0' });
    expect(run.code).toBe(1);
    // Exactly the action's own commands: no warning, mask, stop or output from the component.
    expect(
      workflowCommands(run.stdout).map(
        (c) => `${c.command} ${c.properties.title ?? c.message.replace(/ \(.*\)$/, '')}`,
      ),
    ).toEqual([
      'group ✗ hostile failed',
      'endgroup ',
      'error defstate: hostile failed',
      'error defstate',
    ]);
    // Shown, each line after its key (so none starts with `::`), and `##[` escaped.
    expect(run.stdout).toContain('[hostile] ::warning::injected from a log line\n');
    expect(run.stdout).toContain('[hostile]   ::add-mask::rows\n');
    expect(run.stdout).toContain('[hostile] ##\\[error]legacy form\n');
    expect(run.stdout).toContain('[hostile] ::stop-commands::s70p\n');
    // The error's text is the data of the action's own annotation, escaped, not a command.
    const keyError = workflowCommands(run.stdout).find((c) => c.command === 'error');
    expect(keyError?.message).toContain('::error title=fake::injected from an error');
    expect(run.outputs).toMatchObject({ failed: '1' });
  });
});

describe('with a TypeScript config and an instance-config secret', () => {
  beforeEach(async () => {
    workspace = await createWorkspace({ 'defstate.config.ts': CONFIG_TS });
    await installPackages(workspace, ['@defstate/core']);
  });

  test('pins and verifies, with the instance config private and its secret masked', async () => {
    const jobStorageUrl = `file://${join(workspace.root, 'other-store')}`;
    const run = await runAction(
      workspace,
      {
        'working-directory': 'app',
        'instance-config': instanceConfig(join(workspace.root, 'store')),
        pin: 'true',
        verify: 'true',
      },
      // The explicit input wins over the job's environment.
      { DEFSTATE_STORAGE_URL: jobStorageUrl },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.summary).toContain(`store <code>file://${join(workspace.root, 'store')}</code>`);
    expect(run.outputs).toMatchObject({ refreshed: '3', failed: '0' });

    const home = run.exported.DEFSTATE_HOME ?? '';
    expect(dirname(home)).toBe(workspace.runnerTemp);
    // Later steps get the same store: the job's DEFSTATE_STORAGE_URL, which core ranks above
    // DEFSTATE_HOME, is emptied for them.
    expect(run.exported).toEqual({ DEFSTATE_HOME: home, DEFSTATE_STORAGE_URL: '' });
    const laterEnv = { DEFSTATE_STORAGE_URL: jobStorageUrl, ...run.exported };
    expect(await resolveStorage({ env: laterEnv, cwd: workspace.project })).toMatchObject({
      source: 'instance-config',
      origin: join(home, 'defstate.yaml'),
    });
    const later = await runAction(
      workspace,
      { 'working-directory': 'app', keys: 'catalog' },
      laterEnv,
    );
    expect(later.code, later.stdout + later.stderr).toBe(0);
    expect(later.summary).toContain(`store <code>file://${join(workspace.root, 'store')}</code>`);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'defstate.yaml'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(home, 'defstate.yaml'), 'utf8')).toContain(SECRET);

    expect(run.outputs['pin-file']).toBe(
      join(workspace.project, '.local_defs_state', '.pins.json'),
    );
    const pins = JSON.parse(await readFile(run.outputs['pin-file'] ?? '', 'utf8')) as {
      keys: Record<string, { version: string }>;
    };
    const versions = JSON.parse(run.outputs.versions ?? '{}') as Record<string, string>;
    expect(Object.fromEntries(Object.entries(pins.keys).map(([k, v]) => [k, v.version]))).toEqual(
      versions,
    );
    expect(run.summary).toContain('📌 Pinned 3 keys');
    expect(run.summary).toContain('✅ 3 keys verified');
    expect(run.stdout).toContain(`::add-mask::${SECRET}`);
    expectSecretHidden(run);
  });

  test('a failing component fails the step with an annotation naming the key and cause', async () => {
    const run = await runAction(
      workspace,
      {
        'working-directory': 'app',
        'instance-config': instanceConfig(join(workspace.root, 'store')),
        pin: 'true',
        verify: 'true',
      },
      { BREAK_WAREHOUSE: '1', NOTIFY_TOKEN: SECRET },
    );
    expect(run.code).toBe(1);
    // The component echoed the secret in a log line and in its error: masking hides it, in the
    // action's own text too, not only where the runner shows the log.
    expect(run.stdout).toContain('[warehouse, eu] calling the catalog API with token ***');
    expect(shownLog(run.stdout)).toContain('calling the catalog API with token ***');
    expect(run.summary).toContain('(token ***)');
    expect(run.outputs).toMatchObject({
      refreshed: '2',
      unchanged: '0',
      failed: '1',
      'pin-file': '',
    });
    expect(JSON.parse(run.outputs.versions ?? '{}')).toMatchObject({ 'warehouse, eu': null });

    const errors = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    const keyError = errors.find((c) => c.properties.title === 'defstate: warehouse, eu failed');
    expect(keyError?.message).toContain('warehouse, eu: ');
    expect(keyError?.message).toContain('warehouse unreachable: 503 from catalog API');
    const notPinned = workflowCommands(run.stdout).find(
      (c) => c.properties.title === 'defstate: not pinned',
    );
    expect(notPinned?.command).toBe('notice');
    expect(errors.at(-1)?.message).toContain('1 of 3 keys failed');

    expect(run.summary).toContain(
      '| <code>warehouse, eu</code> | versioned | ❌ failed | — | — | — |',
    );
    expect(run.summary).toContain('### Failures');
    expect(run.summary).toContain('📌 Not pinned');
    expect(run.summary).toContain('Skipped: the refresh failed.');
    expectSecretHidden(run);
  });

  test('an invalid instance config fails with its file, line and field, and no secret', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'instance-config': `state_storage:\n  adapter: file\n  optoins:\n    accountKey: ${SECRET}\n`,
    });
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    // Told against the input, at the mistyped key's own line: the file it went to is private.
    expect(error?.properties).toEqual({ title: 'defstate: configuration error' });
    expect(error?.message).toMatch(
      /^input instance-config, line 3, at state_storage\.optoins: Unrecognized key: "optoins"/,
    );
    expect(run.summary).toContain('input instance-config, line 3');
    expect(run.outputs).toEqual(NO_RUN_OUTPUTS);
    expectSecretHidden(run);
  });

  test('a flow-style config is masked before its failing line could be quoted', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'instance-config': `state_storage: { adapter: file, optoins: { connectionString: "DefaultEndpointsProtocol=https;AccountKey=${SECRET}" } }\n`,
    });
    expect(run.code).toBe(1);
    const masks = workflowCommands(run.stdout).filter((c) => c.command === 'add-mask');
    expect(masks.map((c) => c.message)).toContain(SECRET);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toContain('Unrecognized key: "optoins"');
    expect(run.outputs).toEqual(NO_RUN_OUTPUTS);
    expectSecretHidden(run);
  });

  test('invalid YAML names the line, and the block-scalar secret is masked line by line', async () => {
    const run = await runAction(workspace, {
      'working-directory': 'app',
      'instance-config': `state_storage:\n  adapter: file\n  privateKey: |\n    ${SECRET}\n    second-line-of-key\n  options: [unclosed\n`,
    });
    expect(run.code).toBe(1);
    const masks = workflowCommands(run.stdout).filter((c) => c.command === 'add-mask');
    expect(masks.map((c) => c.message)).toEqual([SECRET, 'second-line-of-key']);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toMatch(/defstate\.yaml:\d+: invalid YAML/);
    expectSecretHidden(run);
  });
});
