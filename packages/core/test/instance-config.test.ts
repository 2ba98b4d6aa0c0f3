import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FileBlobStore,
  INSTANCE_CONFIG_FILE,
  installCommand,
  OFFICIAL_ADAPTER_PACKAGES,
  openStore,
  parseInstanceConfig,
  parseStorageUrl,
  resolveStorage,
  type StorageSelection,
} from '../src/index.js';
import { useTempDir } from './helpers.js';

const FILE = '/home/ci/defstate/defstate.yaml';

/** `${env:NAME}`, as written in defstate.yaml. */
const envRef = (name: string) => `\${env:${name}}`;

/** The ConfigError `action` throws; fails the test if it throws nothing or something else. */
function configError(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function asyncConfigError(action: () => Promise<unknown>): Promise<ConfigError> {
  const error = await action().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('parseInstanceConfig', async () => {
  it('reads the adapter and its options', async () => {
    const text =
      'state_storage:\n  adapter: s3\n  options:\n    bucket: my-bucket\n    prefix: defs\n';
    expect(await parseInstanceConfig(text, FILE, {})).toEqual({
      adapter: 's3',
      options: { bucket: 'my-bucket', prefix: 'defs' },
    });
    expect(
      (await parseInstanceConfig('state_storage:\n  adapter: file\n', FILE, {})).options,
    ).toEqual({});
  });

  it('ignores other top-level sections', async () => {
    const text = 'telemetry: { enabled: false }\nstate_storage:\n  adapter: file\n';
    expect((await parseInstanceConfig(text, FILE, {})).adapter).toBe('file');
  });

  it('reports invalid YAML with file and line', async () => {
    const error = await asyncConfigError(() =>
      parseInstanceConfig('state_storage:\n  adapter: file\n  adapter: s3\n', FILE, {}),
    );
    expect(error.message).toContain(`${FILE}:3`);
    expect(error.message).toMatch(/invalid YAML/);
    expect(error.line).toBe(3);
    expect(error.code).toBe('CONFIG_INVALID');
  });

  it('reports a bad indentation with its line', async () => {
    const error = await asyncConfigError(() =>
      parseInstanceConfig('state_storage:\n  adapter: s3\n   bad: indent\n', FILE, {}),
    );
    expect(error.message).toContain(`${FILE}:2`);
  });

  it('names the field and line of a wrong type', async () => {
    const error = await asyncConfigError(() =>
      parseInstanceConfig('# instance\nstate_storage:\n  adapter: 3\n', FILE, {}),
    );
    expect(error.field).toBe('state_storage.adapter');
    expect(error.line).toBe(3);
    expect(error.message).toContain(`${FILE}:3 at state_storage.adapter`);
    expect(error.message).toMatch(/expected string/);
  });

  it('names nested fields', async () => {
    const error = await asyncConfigError(() =>
      parseInstanceConfig('state_storage:\n  adapter: s3\n  options: 5\n', FILE, {}),
    );
    expect(error.message).toContain(`${FILE}:3 at state_storage.options`);
  });

  it('rejects unknown fields in state_storage', async () => {
    const text = 'state_storage:\n  adapter: s3\n  bucket: oops\n';
    expect((await asyncConfigError(() => parseInstanceConfig(text, FILE, {}))).message).toMatch(
      /bucket/,
    );
  });

  it('says what is missing in an empty file', async () => {
    const error = await asyncConfigError(() => parseInstanceConfig('', FILE, {}));
    expect(error.field).toBe('state_storage');
    expect(error.message).toContain('state_storage:\n  adapter:');
  });

  it('interpolates env references in values', async () => {
    const text = `state_storage:\n  adapter: ${envRef('ADAPTER')}\n  options:\n    bucket: ${envRef('BUCKET')}-state\n    list: ["${envRef('BUCKET')}"]\n`;
    expect(await parseInstanceConfig(text, FILE, { ADAPTER: 'gcs', BUCKET: 'prod' })).toEqual({
      adapter: 'gcs',
      options: { bucket: 'prod-state', list: ['prod'] },
    });
  });

  it('names a missing environment variable and where it is used', async () => {
    const text = `state_storage:\n  adapter: s3\n  options:\n    bucket: ${envRef('STATE_BUCKET')}\n`;
    const error = await asyncConfigError(() => parseInstanceConfig(text, FILE, {}));
    expect(error.message).toContain('STATE_BUCKET');
    expect(error.message).toContain(FILE);
    expect(error.field).toBe('state_storage.options.bucket');
  });
});

describe('resolveStorage', () => {
  async function home(yaml: string) {
    const dir = await useTempDir('home');
    await writeFile(join(dir, INSTANCE_CONFIG_FILE), yaml);
    return dir;
  }

  it('prefers the --storage flag', async () => {
    const env = {
      DEFSTATE_STORAGE_URL: 's3://env-bucket',
      DEFSTATE_HOME: await home('state_storage:\n  adapter: gcs\n'),
    };
    const selection = await resolveStorage({ env, storageUrl: 'gs://flag-bucket/p', cwd: '/w' });
    expect(selection).toMatchObject({ adapter: 'gcs', source: 'flag', baseDir: '/w' });
    expect(selection.url?.href).toBe('gs://flag-bucket/p');
  });

  it('then DEFSTATE_STORAGE_URL', async () => {
    const env = {
      DEFSTATE_STORAGE_URL: 'azblob://account/container',
      DEFSTATE_HOME: await home('state_storage:\n  adapter: gcs\n'),
    };
    const selection = await resolveStorage({ env, cwd: '/w' });
    expect(selection).toMatchObject({ adapter: 'azure', source: 'env-url' });
  });

  it('then $DEFSTATE_HOME/defstate.yaml, resolved from the cwd', async () => {
    const dir = await home('state_storage:\n  adapter: file\n  options:\n    path: ./objects\n');
    const selection = await resolveStorage({ env: { DEFSTATE_HOME: dir }, cwd: '/elsewhere' });
    expect(selection).toEqual({
      adapter: 'file',
      options: { path: './objects' },
      baseDir: dir,
      source: 'instance-config',
      origin: join(dir, INSTANCE_CONFIG_FILE),
    });
    const parent = join(dir, '..');
    const relative = await resolveStorage({
      env: { DEFSTATE_HOME: dir.slice(parent.length + 1) },
      cwd: parent,
    });
    expect(relative.baseDir).toBe(dir);
  });

  it('explains a DEFSTATE_HOME without defstate.yaml', async () => {
    const dir = await useTempDir('home');
    const error = await asyncConfigError(() => resolveStorage({ env: { DEFSTATE_HOME: dir } }));
    expect(error.message).toContain(join(dir, INSTANCE_CONFIG_FILE));
    expect(error.message).toMatch(/does not exist/);
    expect(error.message).toMatch(/DEFSTATE_HOME must point at a folder/);
  });

  it.skipIf(process.platform !== 'linux')(
    'falls back to a local folder under XDG_STATE_HOME',
    async () => {
      const xdg = await useTempDir('xdg');
      const selection = await resolveStorage({ env: { XDG_STATE_HOME: xdg }, cwd: '/w' });
      expect(selection).toEqual({
        adapter: 'file',
        options: { path: join(xdg, 'defstate', 'storage') },
        baseDir: join(xdg, 'defstate'),
        source: 'default',
        origin: join(xdg, 'defstate', 'storage'),
      });
      const store = await openStore(selection, { projectRoot: '/w', env: {} });
      expect(store.location).toBe(`file://${join(xdg, 'defstate', 'storage')}`);
    },
  );
});

describe('parseStorageUrl', () => {
  it.each([
    ['file:///srv/state', 'file'],
    ['s3://bucket/prefix', 's3'],
    ['gs://bucket', 'gcs'],
    ['azblob://account/container', 'azure'],
  ])('maps %s to the %s adapter', (url, adapter) => {
    expect(parseStorageUrl(url, '--storage').adapter).toBe(adapter);
  });

  it('rejects an unsupported scheme, listing the supported ones', () => {
    const error = configError(() => parseStorageUrl('https://example.com/state', '--storage'));
    expect(error.message).toContain('unsupported storage URL scheme "https:"');
    expect(error.message).toContain('file, s3, gs, azblob');
    expect(error.field).toBe('--storage');
  });

  it('rejects what is not a URL', () => {
    const error = configError(() => parseStorageUrl('my-bucket', 'DEFSTATE_STORAGE_URL'));
    expect(error.message).toContain('"my-bucket" is not a storage URL');
    expect(error.message).toContain('DEFSTATE_STORAGE_URL');
  });
});

describe('openStore', () => {
  const fromConfig = (adapter: string, options: Record<string, unknown>, origin = FILE) =>
    ({
      adapter,
      options,
      baseDir: '/home/ci/defstate',
      source: 'instance-config',
      origin,
    }) satisfies StorageSelection;

  it('opens the built-in file adapter relative to DEFSTATE_HOME', async () => {
    const dir = await useTempDir();
    const store = await openStore(
      { ...fromConfig('file', { path: 'objects' }), baseDir: dir },
      { projectRoot: dir },
    );
    expect(store).toBeInstanceOf(FileBlobStore);
    expect(store.location).toBe(`file://${join(dir, 'objects')}`);
  });

  it('opens a store from a URL', async () => {
    const dir = await useTempDir();
    const selection = await resolveStorage({ env: {}, storageUrl: pathToFileURL(dir).href });
    const store = await openStore(selection, { projectRoot: dir });
    expect(store.location).toBe(`file://${dir}`);
  });

  it('names a bad adapter option with its full path', async () => {
    const error = await asyncConfigError(() =>
      openStore(fromConfig('file', { path: 3 }), { projectRoot: '/' }),
    );
    expect(error.field).toBe('state_storage.options.path');
    expect(error.message).toContain(`${FILE} at state_storage.options.path`);
    expect(error.message).toContain('adapter "file"');
  });

  // A package no registry has: the official adapters may be resolvable here (pnpm's NODE_PATH
  // reaches the workspace's hoisted packages), and this must not depend on what is installed.
  const missing = '@defstate-test/no-such-adapter';

  it.each([
    ['pnpm-lock.yaml', `pnpm add ${missing}`],
    ['yarn.lock', `yarn add ${missing}`],
    ['package-lock.json', `npm install ${missing}`],
    [undefined, `npm install ${missing}`],
  ])('says how to install a missing adapter (lockfile %s)', async (lockfile, command) => {
    const project = await useTempDir('project');
    if (lockfile) await writeFile(join(project, lockfile), '');
    const error = await asyncConfigError(() =>
      openStore(fromConfig(missing, {}), { projectRoot: project }),
    );
    expect(error.message).toContain(`storage adapter "${missing}" is not installed in ${project}`);
    expect(error.message).toContain(`Install it in the project: ${command}`);
  });

  it('installs the official package for a short adapter name', async () => {
    expect(OFFICIAL_ADAPTER_PACKAGES).toEqual({
      s3: '@defstate/storage-s3',
      gcs: '@defstate/storage-gcs',
      azure: '@defstate/storage-azure',
    });
    const project = await useTempDir('project');
    await writeFile(join(project, 'pnpm-lock.yaml'), '');
    expect(installCommand(project, OFFICIAL_ADAPTER_PACKAGES.s3 as string)).toBe(
      'pnpm add @defstate/storage-s3',
    );
  });

  describe('with a third-party adapter installed in the project', () => {
    async function projectWithAdapter(source: string) {
      const project = await useTempDir('project');
      const folder = join(project, 'node_modules', 'acme-adapter');
      await mkdir(folder, { recursive: true });
      await writeFile(
        join(folder, 'package.json'),
        JSON.stringify({ name: 'acme-adapter', type: 'module', exports: './index.js' }),
      );
      await writeFile(join(folder, 'index.js'), source);
      return project;
    }

    const adapterSource = (conditionalPut: boolean) => `
      export const storageAdapter = {
        name: 'acme',
        optionsSchema: {
          safeParse: (value) => typeof value.bucket === 'string'
            ? { success: true, data: value }
            : { success: false, error: { issues: [{ path: ['bucket'], message: 'bucket is required' }] } },
        },
        create: (options) => ({
          adapter: 'acme',
          location: 'acme://' + options.bucket,
          capabilities: { conditionalPut: ${conditionalPut}, delete: true },
        }),
      };`;

    it('loads and opens it', async () => {
      const project = await projectWithAdapter(adapterSource(true));
      const store = await openStore(fromConfig('acme-adapter', { bucket: 'b1' }), {
        projectRoot: project,
      });
      expect(store.location).toBe('acme://b1');
    });

    it('validates its options', async () => {
      const project = await projectWithAdapter(adapterSource(true));
      const error = await asyncConfigError(() =>
        openStore(fromConfig('acme-adapter', {}), { projectRoot: project }),
      );
      expect(error.field).toBe('state_storage.options.bucket');
      expect(error.message).toContain('bucket is required');
    });

    it('refuses one without conditional writes', async () => {
      const project = await projectWithAdapter(adapterSource(false));
      const error = await asyncConfigError(() =>
        openStore(fromConfig('acme-adapter', { bucket: 'b' }), { projectRoot: project }),
      );
      expect(error.message).toMatch(/does not support conditional writes/);
    });

    it('refuses a package that exports no adapter', async () => {
      const project = await projectWithAdapter('export const something = 1;');
      const error = await asyncConfigError(() =>
        openStore(fromConfig('acme-adapter', {}), { projectRoot: project }),
      );
      expect(error.message).toContain('package "acme-adapter" does not export a storage adapter');
    });
  });
});

describe('installCommand', () => {
  it('finds the lockfile of an enclosing workspace', async () => {
    const workspace = await useTempDir('workspace');
    await writeFile(join(workspace, 'pnpm-lock.yaml'), '');
    const app = join(workspace, 'apps', 'web');
    await mkdir(app, { recursive: true });
    expect(installCommand(app, 'x')).toBe('pnpm add x');
  });
});
