/**
 * The deployment artifact, end to end, with the real `defstate` command on a copy of the example
 * and a throwaway file store. The tests run without a Docker engine, so the "image" is what the Dockerfile
 * would build: the project copied as `COPY . .` copies it (honouring .dockerignore), plus
 * @defstate/core where the Dockerfile's `RUN` step installs it, started with the Dockerfile's `CMD`.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileBlobStore, readPointer } from '@defstate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyBuildContext } from './docker-context.js';
import { exampleRoot } from './fixture.js';

const cli = join(exampleRoot, 'node_modules/@defstate/cli/bin/defstate.js');
const VERSIONED_KEYS = ['warehouse-catalog', 'feature-flags'];

interface Pins {
  keys: Record<string, { key: string; version: string; management: string; sha256: string }>;
}

let tmp: string;
let project: string;
let store: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'quickstart-artifact-'));
  project = join(tmp, 'project');
  store = join(tmp, 'store');
  // The checkout CI works in: the example's files, and its installed dependencies.
  await cp(exampleRoot, project, {
    recursive: true,
    filter: (source) => !['node_modules', '.turbo', '.local_defs_state'].includes(basename(source)),
  });
  await symlink(join(exampleRoot, 'node_modules'), join(project, 'node_modules'), 'dir');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The environment of every process here: no instance config, color or cache from outside. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('DEFSTATE_')) delete env[name];
  return { ...env, ...extra };
}

function defstate(...args: string[]): SpawnSyncReturns<string> {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: project,
    encoding: 'utf8',
    env: environment({
      DEFSTATE_STORAGE_URL: pathToFileURL(store).href,
      DEFSTATE_CACHE_DIR: join(tmp, 'cli-cache'),
    }),
  });
  if (result.status !== 0) {
    throw new Error(
      `defstate ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** `docker build`: the build context as `COPY . .` takes it, then the `RUN` step's install. */
async function buildImage(name: string): Promise<{ root: string; files: string[] }> {
  const root = join(tmp, name);
  const files = await copyBuildContext(project, root);
  await mkdir(join(root, 'node_modules/@defstate'), { recursive: true });
  const core = await realpath(join(exampleRoot, 'node_modules/@defstate/core'));
  await symlink(core, join(root, 'node_modules/@defstate/core'), 'dir');
  return { root, files };
}

/** `docker run`: the Dockerfile's CMD, in the image's WORKDIR, with the container's environment. */
async function run(image: string, env: Record<string, string>): Promise<SpawnSyncReturns<string>> {
  const dockerfile = await readFile(join(exampleRoot, 'Dockerfile'), 'utf8');
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!cmd) throw new Error('The Dockerfile has no CMD in exec form.');
  const [program, ...args] = JSON.parse(cmd) as string[];
  expect(program).toBe('node');
  return spawnSync(process.execPath, args, {
    cwd: image,
    encoding: 'utf8',
    env: environment(env),
  });
}

const readPins = async (): Promise<Pins> =>
  JSON.parse(await readFile(join(project, '.local_defs_state/.pins.json'), 'utf8'));

const readLatest = async () =>
  Object.fromEntries((await readPointer(new FileBlobStore(store))).entries) as Record<
    string,
    { version: string }
  >;

/** Changes the sources of both versioned keys and refreshes, so their latest versions move on. */
async function moveLatest(pins: Pins): Promise<void> {
  const flags = JSON.parse(await readFile(join(project, 'sources/flags.json'), 'utf8'));
  flags['row-count-checks'].enabled = false;
  await writeFile(join(project, 'sources/flags.json'), JSON.stringify(flags, null, 2));
  await writeFile(join(project, 'sources/warehouse/refunds.csv'), 'id,amount\n1,9.5\n2,3\n');
  defstate('refresh');
  const latest = await readLatest();
  for (const key of VERSIONED_KEYS) {
    expect(latest[key]?.version).not.toBe(pins.keys[key]?.version);
  }
}

const empty = async (folder: string) => (await readdir(folder).catch(() => [])).length === 0;

describe('the deployment artifact', { timeout: 60_000 }, () => {
  it('carries the state and the pins, and none of what .dockerignore leaves out', async () => {
    defstate('deploy');
    const { files } = await buildImage('image');
    expect(files).toEqual(
      expect.arrayContaining([
        '.local_defs_state/.gitignore',
        '.local_defs_state/.pins.json',
        '.local_defs_state/services/info.json',
        '.local_defs_state/services/state',
        'defstate.config.ts',
        'package.json',
        'src/app.mjs',
        'src/definitions.mjs',
      ]),
    );
    const leftOut =
      /^(node_modules|sources|test|Dockerfile|\.dockerignore|vitest\.config\.ts)(\/|$)/;
    expect(files.filter((file) => leftOut.test(file))).toEqual([]);
    expect(Object.keys((await readPins()).keys).sort()).toEqual([
      'feature-flags',
      'services',
      'warehouse-catalog',
    ]);
  });

  it('keeps loading the pinned versions after later refreshes move latest', async () => {
    defstate('deploy');
    const pins = await readPins();
    const image = await buildImage('image');
    await moveLatest(pins);
    const latest = await readLatest();

    const cache = join(tmp, 'container-cache');
    const started = await run(image.root, {
      DEFSTATE_STORAGE_URL: pathToFileURL(store).href,
      DEFSTATE_CACHE_DIR: cache,
    });
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    // The definitions of the deploy: 4 tables and both flags, not the refund table or the flag off.
    expect(started.stdout).toContain('Loaded 3 states → 4 tables, 5 services, 2 flags enabled');
    for (const info of Object.values(pins.keys)) expect(started.stdout).toContain(info.version);
    for (const key of VERSIONED_KEYS) {
      expect(started.stdout).not.toContain(latest[key]?.version);
    }
    // Not pulled: the pinned versions came from the store, through the cache.
    expect(await empty(cache)).toBe(false);
  });

  it('starts with storage unreachable once `defstate pull` put the pinned versions in it', async () => {
    defstate('deploy');
    const pins = await readPins();
    await moveLatest(pins);
    const unpulled = await buildImage('image-without-pull');
    const pull = defstate('pull');
    for (const key of VERSIONED_KEYS) {
      const info = pins.keys[key];
      expect(pull.stdout).toContain(key);
      // The pinned version, not the latest one.
      const pulled = await readFile(
        join(project, '.local_defs_state/.pulled', key, info?.version ?? '?'),
      );
      expect(pulled.length).toBeGreaterThan(0);
    }
    const image = await buildImage('image');
    expect(
      image.files.filter((file) => file.startsWith('.local_defs_state/.pulled/')),
    ).toHaveLength(2);

    // The store is gone; the caches are empty.
    await rename(store, `${store}-offline`);
    const cache = join(tmp, 'container-cache');
    const offline = { DEFSTATE_STORAGE_URL: pathToFileURL(store).href, DEFSTATE_CACHE_DIR: cache };

    // Without pull, an image needs the store: this is what "unreachable" takes away.
    const failed = await run(unpulled.root, {
      ...offline,
      DEFSTATE_CACHE_DIR: join(tmp, 'control-cache'),
    });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('quickstart: ');
    expect(failed.stdout).toBe('');

    const started = await run(image.root, offline);
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    expect(started.stdout).toContain('Loaded 3 states → 4 tables, 5 services, 2 flags enabled');
    for (const info of Object.values(pins.keys)) expect(started.stdout).toContain(info.version);

    // No storage configured at all: DEFSTATE_HOME names a folder that does not exist.
    const homeless = await run(image.root, {
      DEFSTATE_HOME: join(tmp, 'no-such-home'),
      DEFSTATE_CACHE_DIR: cache,
    });
    expect(homeless.stderr).toBe('');
    expect(homeless.status).toBe(0);

    // Nothing was downloaded, and nothing recreated the store.
    expect(await empty(cache)).toBe(true);
    expect(await empty(store)).toBe(true);
  });

  it('refuses to start on local state refreshed after the deploy it was pinned by', async () => {
    defstate('deploy');
    const pins = await readPins();
    const auth = JSON.parse(await readFile(join(project, 'sources/services/auth.json'), 'utf8'));
    await writeFile(
      join(project, 'sources/services/auth.json'),
      JSON.stringify({ ...auth, port: 9999 }),
    );
    defstate('refresh', '--key', 'services');
    const image = await buildImage('image');
    const started = await run(image.root, {
      DEFSTATE_STORAGE_URL: pathToFileURL(store).href,
      DEFSTATE_CACHE_DIR: join(tmp, 'container-cache'),
    });
    expect(started.status).toBe(1);
    expect(started.stdout).toBe('');
    expect(started.stderr).toContain('"services"');
    expect(started.stderr).toContain(pins.keys.services?.version);
  });
});

describe('the build context copy', () => {
  it('follows Docker’s .dockerignore rules: anchored, **, !, last match wins', async () => {
    const context = join(tmp, 'context');
    const files = [
      'keep.txt',
      'node_modules/a/index.js',
      'src/node_modules/b.js',
      'src/sources.ts',
      'sources/flags.json',
      'logs/app.log',
      'logs/important.log',
      '.local_defs_state/.pins.json',
      '.local_defs_state/.staging/1-2/state',
    ];
    for (const file of files) {
      await mkdir(join(context, file, '..'), { recursive: true });
      await writeFile(join(context, file), file);
    }
    await writeFile(
      join(context, '.dockerignore'),
      '# comment\n**/node_modules\n/sources\nlogs/*.log\n!logs/important.log\n.local_defs_state/.staging\n.dockerignore\n',
    );
    expect(await copyBuildContext(context, join(tmp, 'copy'))).toEqual([
      '.local_defs_state/.pins.json',
      'keep.txt',
      'logs/important.log',
      'src/sources.ts',
    ]);
    expect(await readFile(join(tmp, 'copy/logs/important.log'), 'utf8')).toBe('logs/important.log');
  });
});
