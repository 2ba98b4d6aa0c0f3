import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { readInputs } from '../src/inputs.js';
import { failureMessage, run } from '../src/run.js';
import { inputVariable, type Runner } from '../src/runner.js';

// run() in this process, with explicit arguments and a runner that records what it is told.

function recordingRunner(inputs: Record<string, string>) {
  const calls = {
    outputs: {} as Record<string, string>,
    exported: {} as Record<string, string>,
    masked: [] as string[],
    errors: [] as { message: string; title?: string }[],
    summary: '',
  };
  const runner: Runner = {
    input: (name) => inputs[name] ?? '',
    setOutput: (name, value) => {
      calls.outputs[name] = value;
    },
    exportVariable: (name, value) => {
      calls.exported[name] = value;
    },
    mask: (value) => calls.masked.push(value),
    error: (message, properties) => calls.errors.push({ message, title: properties?.title }),
    warning: () => {},
    notice: () => {},
    info: () => {},
    group: () => {},
    debug: () => {},
    appendSummary: (markdown) => {
      calls.summary += markdown;
    },
  };
  return { runner, calls };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'defstate-action-run-'));
  await mkdir(join(root, 'app'));
  await mkdir(join(root, 'temp'));
  await writeFile(
    join(root, 'app', 'defstate.config.mjs'),
    `import { writeFile } from 'node:fs/promises';
export default { components: [
  { key: 'a', management: 'local', refresh: ({ statePath }) => writeFile(statePath, 'A') },
  { key: 'b', management: 'versioned', refresh: async () => { throw new Error('b is down'); } },
] };
`,
  );
});
afterEach(() => rm(root, { recursive: true, force: true }));

test('reports a failed key through the runner and returns not ok', async () => {
  const { runner, calls } = recordingRunner({
    'working-directory': 'app',
    'instance-config': `state_storage:\n  adapter: file\n  options:\n    path: ${join(root, 'store')}\nauth_token: Abcdefgh12345678Ijklmnop\n`,
    retries: '0',
  });
  const result = await run(readInputs(runner), {
    runner,
    env: { RUNNER_TEMP: join(root, 'temp') },
    cwd: root,
  });
  expect(result.ok).toBe(false);
  expect(failureMessage(result)).toBe('defstate: 1 of 2 keys failed; see the annotations above.');
  expect(calls.masked).toEqual(['Abcdefgh12345678Ijklmnop']);
  expect(calls.exported.DEFSTATE_HOME).toMatch(/temp\/defstate-home-/);
  expect(calls.outputs).toMatchObject({ refreshed: '1', unchanged: '0', failed: '1' });
  expect(calls.errors).toEqual([
    { title: 'defstate: b failed', message: expect.stringContaining('b: Refresh of "b" failed') },
  ]);
  expect(calls.errors[0]?.message).toContain('b is down');
  expect(calls.summary).toContain('| <code>b</code> | versioned | ❌ failed |');
  expect(inputVariable('instance-config')).toBe('INPUT_INSTANCE-CONFIG');
});
