import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../tools/emulators/start.mjs';

// A new user's path, from the packages as they are published: the packed tarballs of core, the
// CLI and the S3 adapter installed into a fresh npm project outside the workspace (third-party
// dependencies from the npm registry), a TypeScript config, `defstate deploy` against S3 (moto),
// then an image-like copy installed with `npm ci --omit=dev`, as the scaffolded Dockerfile does,
// whose app loads its state at start-up.

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));
const BUCKET = 'packed-install';

function exec(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
) {
  const result = await exec(command, args, options);
  expect(result.code, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

const CONFIG = `import { readFile, writeFile } from 'node:fs/promises';
import { defineComponent, defineConfig } from '@defstate/core';

interface Catalog { tables: string[] }
const catalog: Catalog = { tables: ['orders', 'customers'] };

export default defineConfig({
  components: [
    defineComponent({
      key: 'catalog',
      management: 'versioned',
      async refresh({ statePath }) {
        await writeFile(statePath, JSON.stringify(catalog));
      },
    }),
    defineComponent({
      key: 'services',
      management: 'local',
      async refresh({ statePath }) {
        await writeFile(statePath, await readFile(new URL('./services.txt', import.meta.url)));
      },
    }),
  ],
});
`;

const APP = `import { readFile } from 'node:fs/promises';
import { loadStates } from '@defstate/core/load';

const loaded = await loadStates(['catalog', 'services']);
const state = {};
for (const entry of loaded) state[entry.key] = await readFile(entry.path, 'utf8');
console.log(JSON.stringify(state));
`;

let root: string;
let tarballs: Record<string, string>;
let moto: RunningEmulator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'defstate-packed-'));
  const packed = join(root, 'tarballs');
  await mkdir(packed);
  for (const name of ['core', 'cli', 'storage-s3']) {
    await ok('pnpm', ['pack', '--pack-destination', packed], { cwd: join(PACKAGES, name) });
  }
  const files = await readdir(packed);
  const find = (prefix: string) => {
    const file = files.find((candidate) => candidate.startsWith(prefix));
    if (!file) throw new Error(`no ${prefix}*.tgz among ${files.join(', ')}`);
    return `file:${join(packed, file)}`;
  };
  tarballs = {
    core: find('defstate-core-'),
    cli: find('defstate-cli-'),
    s3: find('defstate-storage-s3-'),
  };
  moto = await startEmulator('s3');
  const response = await fetch(`${moto.endpoint}/${BUCKET}`, { method: 'PUT' });
  if (!response.ok) throw new Error(`creating the bucket on moto failed: HTTP ${response.status}`);
  const home = join(root, 'home');
  const instance = join(root, 'defstate-home');
  await mkdir(home);
  await mkdir(instance);
  await writeFile(
    join(instance, 'defstate.yaml'),
    `state_storage:\n  adapter: s3\n  options:\n    bucket: ${BUCKET}\n    prefix: app\n    region: us-east-1\n    endpoint: ${moto.endpoint}\n    forcePathStyle: true\n`,
  );
  env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
    // npm's cache is the user's own: a second install reuses what the first one fetched.
    npm_config_cache: join(process.env.HOME ?? home, '.npm'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    DEFSTATE_HOME: instance,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}, 600_000);

afterAll(async () => {
  await moto?.stop();
  await rm(root, { recursive: true, force: true });
});

/** A project as a user sets it up: the adapter where `dependencies` puts it. */
async function project(name: string, adapterIn: 'dependencies' | 'devDependencies') {
  const folder = join(root, name);
  await mkdir(folder);
  const manifest = {
    name,
    private: true,
    type: 'module',
    scripts: { start: 'node app.mjs' },
    dependencies: {
      '@defstate/core': tarballs.core,
      ...(adapterIn === 'dependencies' ? { '@defstate/storage-s3': tarballs.s3 } : {}),
    },
    devDependencies: {
      '@defstate/cli': tarballs.cli,
      ...(adapterIn === 'devDependencies' ? { '@defstate/storage-s3': tarballs.s3 } : {}),
    },
  };
  await writeFile(join(folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(folder, 'defstate.config.ts'), CONFIG);
  await writeFile(join(folder, 'services.txt'), 'orders-api, billing');
  await writeFile(join(folder, 'app.mjs'), APP);
  await ok('npm', ['install', '--no-audit', '--no-fund'], { cwd: folder, env });
  return folder;
}

/** A container's environment: the instance config mounted, and no cache from the CI machine. */
async function containerEnv(): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(root, 'container-home-'));
  return {
    ...env,
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
  };
}

/** What `docker build` with the scaffolded Dockerfile gives: the folder, production deps only. */
async function image(folder: string) {
  const copy = `${folder}-image`;
  await cp(folder, copy, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  await ok('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, env });
  return copy;
}

describe('the packed packages, installed as a user installs them', () => {
  it('deploy in CI, then an image installed without devDependencies starts and loads its state', async () => {
    const folder = await project('app', 'dependencies');
    const deploy = await ok(join(folder, 'node_modules', '.bin', 'defstate'), ['deploy'], {
      cwd: folder,
      env,
    });
    expect(deploy.stdout).toMatch(/2 keys: 2 refreshed/);
    expect(deploy.stderr).not.toMatch(/NodeVersionSupportWarning|devDependency/);
    const verify = await ok(join(folder, 'node_modules', '.bin', 'defstate'), ['verify'], {
      cwd: folder,
      env,
    });
    expect(verify.stderr).not.toMatch(/devDependency/);

    const copy = await image(folder);
    const started = await ok('node', ['app.mjs'], { cwd: copy, env: await containerEnv() });
    expect(JSON.parse(started.stdout)).toEqual({
      catalog: '{"tables":["orders","customers"]}',
      services: 'orders-api, billing',
    });
    // The CLI is a dev dependency: the image does not carry it.
    expect(await readdir(join(copy, 'node_modules', '@defstate'))).toEqual(['core', 'storage-s3']);
  }, 600_000);

  it('with the adapter as a devDependency, verify warns, and the image indeed cannot start', async () => {
    const folder = await project('dev-adapter', 'devDependencies');
    const bin = join(folder, 'node_modules', '.bin', 'defstate');
    await ok(bin, ['deploy'], { cwd: folder, env });
    const verify = await ok(bin, ['verify'], { cwd: folder, env });
    expect(verify.stderr).toContain('warning: @defstate/storage-s3 is only a devDependency');
    const copy = await image(folder);
    const started = await exec('node', ['app.mjs'], { cwd: copy, env: await containerEnv() });
    expect(started.code).not.toBe(0);
    expect(started.stderr).toContain('storage adapter "s3" is not installed');
  }, 600_000);
});
