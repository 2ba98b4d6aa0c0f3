import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  configModule,
  createSandbox,
  type RunResult,
  runDefstate,
  type Sandbox,
} from './helpers.js';

// Components are user code. None of what one does wrong may take the run down or hang it: each
// case runs the built CLI with a hard bound on its time, and checks the other key was refreshed.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const BOUND_MS = 20_000;

/** `defstate refresh` of a project with one good key and `bad`; killed if it outlives the bound. */
async function refreshWith(bad: string, args: string[] = []): Promise<RunResult & { ms: number }> {
  await sandbox.write(
    'defstate.config.mjs',
    configModule([
      ['good', 'local', `await writeFile(statePath, 'good');`],
      ['bad', 'local', bad],
    ]),
  );
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const result = await runDefstate(['refresh', '--retries', '0', ...args], {
    cwd: sandbox.project,
    env: sandbox.env,
    onSpawn: (child) => {
      timer = setTimeout(() => child.kill('SIGKILL'), BOUND_MS);
    },
  });
  clearTimeout(timer);
  return { ...result, ms: performance.now() - started };
}

function expectGoodRefreshed(result: RunResult): void {
  expect(result.stdout).toMatch(/✓ good \(local\) refreshed/);
  expect(existsSync(join(sandbox.project, '.local_defs_state', 'good', 'state'))).toBe(true);
}

describe('a misbehaving component', () => {
  it('that leaves a timer and a server open does not keep the run from ending', async () => {
    const result = await refreshWith(
      `await writeFile(statePath, 'ok'); setInterval(() => {}, 1000); (await import('node:net')).createServer().listen(0, '127.0.0.1');`,
    );
    expect(result.signal, 'the run had to be killed').toBeNull();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/2 keys: 2 refreshed/);
  });

  it('that rejects a promise nobody handles fails that key only, without a raw stack', async () => {
    const result = await refreshWith(
      `Promise.reject(new Error('nobody awaits me')); await new Promise((resolve) => setTimeout(resolve, 200)); await writeFile(statePath, 'late');`,
    );
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expectGoodRefreshed(result);
    expect(result.stdout).toMatch(/✗ bad \(local\) failed/);
    expect(result.stdout).toContain('rejected a promise that nobody handled: nobody awaits me');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(sandbox.project, '.local_defs_state', 'bad', 'state'))).toBe(false);
  });

  it('that throws in a timer fails that key only', async () => {
    const result = await refreshWith(
      `setTimeout(() => { throw new TypeError('boom in a timer'); }, 10); await new Promise((resolve) => setTimeout(resolve, 300)); await writeFile(statePath, 'late');`,
    );
    expect(result.code).toBe(1);
    expectGoodRefreshed(result);
    expect(result.stdout).toContain('threw outside its await chain');
    expect(result.stdout).toContain('boom in a timer');
  });

  it('that calls process.exit(0) fails that key, and the run reports the rest', async () => {
    const result = await refreshWith(`process.exit(0);`);
    expect(result.code).toBe(1);
    expectGoodRefreshed(result);
    expect(result.stdout).toMatch(/✗ bad \(local\) failed/);
    expect(result.stdout).toContain('called process.exit(0)');
    expect(result.stdout).toMatch(/2 keys: 1 refreshed, 0 unchanged, 1 failed/);
  });

  it('that writes a symbolic link at statePath commits nothing of it', async () => {
    const outside = await sandbox.write('../outside.txt', 'a secret outside the project');
    const result = await refreshWith(
      `await (await import('node:fs/promises')).symlink(${JSON.stringify(outside)}, statePath);`,
    );
    expect(result.code).toBe(1);
    expectGoodRefreshed(result);
    expect(result.stdout).toContain('wrote a symbolic link at statePath');
    expect(existsSync(join(sandbox.project, '.local_defs_state', 'bad', 'state'))).toBe(false);
  });

  it('whose config default export is a function that throws is a configuration error', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      `export default () => { throw new Error('cannot reach the catalog to list components'); };\n`,
    );
    const result = await runDefstate(['refresh'], { cwd: sandbox.project, env: sandbox.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('defstate.config.mjs');
    expect(result.stderr).toContain('cannot reach the catalog to list components');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain('internal error');
  });
});
