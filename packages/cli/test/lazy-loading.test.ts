import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, configModule, createSandbox, type Sandbox } from './helpers.js';

// `defstate --help` and `defstate status` must stay fast: they may load only what they use.
const TRACER = fileURLToPath(new URL('./fixtures/trace-imports.mjs', import.meta.url));

function loadedModules(args: string[], cwd: string, env: NodeJS.ProcessEnv): string[] {
  const result = spawnSync(process.execPath, ['--import', TRACER, BIN, ...args], {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  expect(result.status, result.stderr).toBe(0);
  return (result.output[3] ?? '').split('\n').filter(Boolean);
}

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

describe('what each command loads', () => {
  it('--help loads commander and nothing of core', () => {
    const modules = loadedModules(['--help'], sandbox.project, sandbox.env);
    expect(modules.some((url) => url.includes('commander'))).toBe(true);
    expect(
      modules.filter((url) => /@defstate\/core|\/core\/dist\/|zod|yaml|jiti/.test(url)),
    ).toEqual([]);
  });

  it('status of a JavaScript config loads no TypeScript loader and no cloud SDK', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      configModule([['a', 'local', `await writeFile(statePath, 'a');`]]),
    );
    const modules = loadedModules(['status'], sandbox.project, sandbox.env);
    expect(modules.some((url) => url.includes('/core/dist/'))).toBe(true);
    expect(
      modules.filter((url) => /jiti|@aws-sdk|@google-cloud|@azure|commands\/refresh/.test(url)),
    ).toEqual([]);
  });
});
