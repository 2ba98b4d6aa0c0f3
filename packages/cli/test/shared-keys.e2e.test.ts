import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode } from '../../../tools/testing/run-node.mjs';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// Several components may declare one key, as in Dagster: it is refreshed once, and every
// declaring component loads the same state.

const CORE = new URL('../../core/dist/index.js', import.meta.url).href;

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[]) => runDefstate(args, { cwd: sandbox.project, env: sandbox.env });

/** Two components that declare `catalog`, each counting its own refreshes in a file. */
function sharedConfig(managements: [string, string]): string {
  const component = (name: string, management: string) =>
    `{ key: 'catalog', management: '${management}', description: '${name}', refresh: async ({ statePath }) => { await appendFile('refreshes.log', '${name}\\n'); await writeFile(statePath, 'catalog from ${name}'); } }`;
  return `import { appendFile, writeFile } from 'node:fs/promises';
export default { components: [
  ${component('orders', managements[0])},
  { key: 'other', management: 'local', refresh: ({ statePath }) => writeFile(statePath, 'other') },
  ${component('order lines', managements[1])},
] };
`;
}

describe('keys shared by several components', () => {
  it.each(['local', 'versioned'])(
    'refreshes a %s key once and gives every declaring component the same state',
    async (management) => {
      await sandbox.write('defstate.config.mjs', sharedConfig([management, management]));

      const refresh = await run(['refresh', '--json']);
      expect(refresh.code, refresh.stderr).toBe(0);
      const report = JSON.parse(refresh.stdout) as { results: Array<{ key: string }> };
      expect(report.results.map(({ key }) => key)).toEqual(['catalog', 'other']);
      expect(await readFile(join(sandbox.project, 'refreshes.log'), 'utf8')).toBe('orders\n');

      const status = JSON.parse((await run(['status', '--json'])).stdout) as {
        keys: Array<{ key: string; declarations: number }>;
      };
      expect(status.keys.map(({ key }) => key)).toEqual(['catalog', 'other']);
      expect(status.keys[0]?.declarations).toBe(2);

      // Each declaring component loads the key at start-up: both get the one state.
      const app = await sandbox.write(
        'app.mjs',
        `import { readFile } from 'node:fs/promises';
import { loadState } from ${JSON.stringify(CORE)};
const forOrders = await loadState('catalog');
const forLines = await loadState('catalog');
console.log(JSON.stringify([forOrders.version, forLines.version, await readFile(forLines.path, 'utf8')]));
`,
      );
      const loaded = await runNode([app], { cwd: sandbox.project, env: sandbox.env });
      expect(loaded.code, loaded.stderr).toBe(0);
      const [first, second, text] = JSON.parse(loaded.stdout) as string[];
      expect(first).toBe(second);
      expect(text).toBe('catalog from orders');
    },
  );

  it('refuses components that share a key but not its management type, naming both', async () => {
    await sandbox.write('defstate.config.mjs', sharedConfig(['local', 'versioned']));
    const refresh = await run(['refresh']);
    expect(refresh.code).toBe(2);
    expect(refresh.stderr).toContain(
      'components[0] and components[2] both use the key "catalog", but one is local and the other versioned (orders; order lines)',
    );
    expect(refresh.stderr).toContain('defstate.config.mjs');
  });
});
