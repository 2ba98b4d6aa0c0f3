import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseInstanceConfig } from '@defstate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';

// `defstate init`, like `changeset init`: a starter config that refreshes as written, and with
// --storage a defstate.yaml that parses.

const CORE = dirname(createRequire(import.meta.url).resolve('@defstate/core/package.json'));

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
  await sandbox.write('package.json', '{ "name": "new-app", "private": true }\n');
  // What `npm install @defstate/core` leaves.
  await mkdir(join(sandbox.project, 'node_modules', '@defstate'), { recursive: true });
  await symlink(CORE, join(sandbox.project, 'node_modules', '@defstate', 'core'), 'dir');
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

describe('defstate init', () => {
  it('writes a starter defstate.config.ts that refreshes, and says what to install', async () => {
    const init = await run(['init']);
    expect(init.code, init.stderr).toBe(0);
    const config = await readFile(join(sandbox.project, 'defstate.config.ts'), 'utf8');
    expect(config).toContain('defineConfig');
    expect(config).toContain("from '@defstate/core'");
    // core is a run-time dependency, the CLI a dev one.
    expect(init.stdout).toContain('npm install @defstate/core');
    expect(init.stdout).toContain('npm install --save-dev @defstate/cli');
    const refresh = await run(['refresh']);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(refresh.stdout).toMatch(/1 key: 1 refreshed/);
  });

  it('refuses to overwrite without --force, and never replaces another config file', async () => {
    expect((await run(['init'])).code).toBe(0);
    const again = await run(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await run(['init', '--force'])).code).toBe(0);
    await sandbox.write('../other/defstate.config.mjs', 'export default { components: [] };\n');
    const other = await run(['init', '--project', join(sandbox.project, '..', 'other')]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('defstate.config.mjs');
  });

  it('--storage with a URL writes a defstate.yaml that parses, in ./defstate-home', async () => {
    const init = await run(['init', '--storage', 's3://acme-state/app/prod?region=eu-west-1']);
    expect(init.code, init.stderr).toBe(0);
    const file = join(sandbox.project, 'defstate-home', 'defstate.yaml');
    const parsed = await parseInstanceConfig(await readFile(file, 'utf8'), file, {});
    expect(parsed).toEqual({
      adapter: 's3',
      options: { bucket: 'acme-state', prefix: 'app/prod', region: 'eu-west-1' },
    });
    expect(init.stdout).toContain('DEFSTATE_HOME');
    expect(init.stdout).toContain('npm install @defstate/core @defstate/storage-s3');
  });

  it('--storage with an adapter name writes a template for it, into DEFSTATE_HOME when set', async () => {
    const home = join(sandbox.home, 'instance');
    for (const adapter of ['file', 'gcs', 'azure', 's3']) {
      const init = await run(['init', '--force', '--storage', adapter], { DEFSTATE_HOME: home });
      expect(init.code, init.stderr).toBe(0);
      const file = join(home, 'defstate.yaml');
      const parsed = await parseInstanceConfig(await readFile(file, 'utf8'), file, {});
      expect(parsed.adapter).toBe(adapter);
    }
    expect(existsSync(join(sandbox.project, 'defstate-home'))).toBe(false);
  });

  it('rejects an unknown store with the choices', async () => {
    const init = await run(['init', '--storage', 'dropbox']);
    expect(init.code).toBe(2);
    expect(init.stderr).toMatch(/file, s3, gcs, azure/);
    expect(existsSync(join(sandbox.project, 'defstate.config.ts'))).toBe(false);
  });
});
