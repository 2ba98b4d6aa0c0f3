import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode } from '../../../tools/testing/run-node.mjs';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// After `deploy`, a plain `refresh` of a local key replaces the pinned bytes in the tree: the
// CLI, `status` and the page must say that loadState() now fails, and what to run.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

const CORE = new URL('../../core/dist/index.js', import.meta.url).href;
const CONFIG = `import { readFile, writeFile } from 'node:fs/promises';
const from = (name) => async ({ statePath }) => writeFile(statePath, await readFile(name));
export default {
  components: [
    { key: 'services', management: 'local', refresh: from('services.txt') },
    { key: 'catalog', management: 'versioned', refresh: from('catalog.txt') },
  ],
};
`;

async function deployThenRefresh() {
  await sandbox.write('defstate.config.mjs', CONFIG);
  await sandbox.write('services.txt', 'S1');
  await sandbox.write('catalog.txt', 'C1');
  expect((await run(['deploy'])).code).toBe(0);
  await sandbox.write('services.txt', 'S2');
  await sandbox.write('catalog.txt', 'C2');
  return run(['refresh']);
}

describe('a refresh after a deploy', () => {
  it('says that the local key’s pin is now broken and what to run, and the versioned one still loads its pin', async () => {
    const refresh = await deployThenRefresh();
    expect(refresh.code, refresh.stderr).toBe(0);
    const said = refresh.stdout + refresh.stderr;
    expect(said).toMatch(/loadState\("services"\) fails/);
    expect(said).toContain('defstate pin');
    expect(said).not.toMatch(
      /still pins the versions of the last deploy, and loadState\(\) loads those/,
    );
    expect(said).toMatch(/catalog.*pinned/s);

    // And it is true: the app cannot load the local key.
    await sandbox.write(
      'app.mjs',
      `import { loadState } from ${JSON.stringify(CORE)};\nawait loadState('services', { projectRoot: process.cwd() });\n`,
    );
    const app = await runNode(['app.mjs'], { cwd: sandbox.project, env: sandbox.env });
    expect(app.code).not.toBe(0);
    expect(app.stderr).toMatch(/pin/);
  });

  it('status and status --json show the broken pin, and an update for the versioned key', async () => {
    await deployThenRefresh();
    const json = await run(['status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const keys = Object.fromEntries(
      JSON.parse(json.stdout).keys.map((entry: { key: string }) => [entry.key, entry]),
    );
    expect(keys.services.health).toBe('pin-mismatch');
    expect(keys.services.reason).toContain('defstate pin');
    expect(keys.catalog.health).toBe('update-available');
    expect(keys.catalog.pinnedVersion).not.toBe(keys.catalog.version);

    const table = await run(['status']);
    const servicesLine = table.stdout.split('\n').find((line) => line.startsWith('services'));
    expect(servicesLine).toMatch(/pin mismatch/);
    expect(table.stdout).toContain('defstate pin');
  });

  it('the status page shows the broken pin as an error, not as an update', async () => {
    await deployThenRefresh();
    const file = join(sandbox.project, 'status.html');
    expect((await run(['status', '--html', file])).code).toBe(0);
    const html = await readFile(file, 'utf8');
    const boot = JSON.parse(
      /<script type="application\/json" id="defstate-boot">(.*?)<\/script>/s.exec(html)?.[1] ?? '',
    );
    const services = boot.view.keys.find((entry: { key: string }) => entry.key === 'services');
    expect(services.health).toBe('pin-mismatch');
  });

  it('after `defstate pin` all is well again', async () => {
    await deployThenRefresh();
    expect((await run(['pin'])).code).toBe(0);
    const verify = await run(['verify']);
    expect(verify.code, verify.stderr).toBe(0);
    const keys = JSON.parse((await run(['status', '--json'])).stdout).keys;
    expect(keys.map((entry: { health: string }) => entry.health)).toEqual([
      'up-to-date',
      'up-to-date',
    ]);
  });
});
