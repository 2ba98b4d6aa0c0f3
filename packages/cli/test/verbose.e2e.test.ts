import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// --verbose and DEFSTATE_DEBUG: where a component failed, as a cause chain with stack traces, on
// stderr only.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
  // Line 4 of the config is where the component breaks.
  await sandbox.write(
    'defstate.config.mjs',
    `function tables(catalog) {
  return catalog.schemas.map((schema) => schema.name);
}
const broken = async () => tables(null);
export default { components: [{ key: 'catalog', management: 'local', refresh: broken }] };
`,
  );
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

const STACK_LINE = /at tables \(.*defstate\.config\.mjs:2:\d+\)/;

describe('--verbose', () => {
  it('is quiet by default: no stack, and a hint that --verbose shows one', async () => {
    const result = await run(['refresh']);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain('Cannot read properties of null');
    expect(result.stdout + result.stderr).toContain('--verbose');
    expect(result.stdout + result.stderr).not.toMatch(STACK_LINE);
  });

  it('prints the cause chain with stack traces on stderr, never on stdout', async () => {
    const result = await run(['refresh', '--verbose', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(STACK_LINE);
    expect(result.stderr).toMatch(/RefreshFailedError[\s\S]*caused by: TypeError/);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
    expect(result.stdout).not.toMatch(STACK_LINE);

    const plain = await run(['--verbose', 'refresh']);
    expect(plain.stderr).toMatch(STACK_LINE);
    expect(plain.stdout).not.toMatch(STACK_LINE);
  });

  it('DEFSTATE_DEBUG=1, =* and a list with cli turn it on; other namespaces do not', async () => {
    for (const value of ['1', '*', 'store,cli']) {
      const result = await run(['refresh'], { DEFSTATE_DEBUG: value });
      expect(result.stderr, `DEFSTATE_DEBUG=${value}`).toMatch(STACK_LINE);
    }
    const storeOnly = await run(['refresh'], { DEFSTATE_DEBUG: 'store:s3' });
    expect(storeOnly.stderr).not.toMatch(STACK_LINE);
  });

  it('shows the chain of an error that stops a command, such as a config that throws', async () => {
    await sandbox.write(
      'defstate.config.mjs',
      `import { readFileSync } from 'node:fs';\nexport default JSON.parse(readFileSync('missing.json', 'utf8'));\n`,
    );
    const quiet = await run(['status']);
    expect(quiet.code).toBe(2);
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const verbose = await run(['status', '--verbose']);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/caused by: Error: ENOENT/);
    expect(verbose.stderr).toMatch(/defstate\.config\.mjs:2/);
  });
});
