import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  INSTANCE_CONFIG_FILE,
  openStore,
  parseInstanceConfig,
  parseStorageUrl,
  resolveStorage,
  type StorageSelection,
  suggestClosest,
} from '../src/index.js';
import { useTempDir } from './helpers.js';

// Bad input to the instance config and storage URLs: each a ConfigError naming its file or
// variable, never an internal error, and nothing written anywhere.

const FILE = '/home/ci/defstate/defstate.yaml';

async function configError(action: () => unknown): Promise<ConfigError> {
  const error = await Promise.resolve()
    .then(action)
    .then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('YAML aliases in defstate.yaml', () => {
  it('an alias to an anchor that does not exist names the file, the line and the alias', async () => {
    const error = await configError(() =>
      parseInstanceConfig('# storage\nstate_storage: *nope\n', FILE, {}),
    );
    expect(error.file).toBe(FILE);
    expect(error.line).toBe(2);
    expect(error.message).toContain(`${FILE}:2`);
    expect(error.message).toContain('*nope');
  });

  it('an alias bomb is refused before it expands', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [index, name] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) {
      const previous = index === 0 ? 'a' : ['b', 'c', 'd', 'e', 'f'][index - 1];
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const text = `${levels.join('\n')}\nstate_storage: { adapter: file }\n`;
    const error = await configError(() => parseInstanceConfig(text, FILE, {}));
    expect(error.file).toBe(FILE);
    expect(error.message).toMatch(/aliases/);
  });

  it('a few ordinary aliases still work', async () => {
    const text =
      'base: &base { path: ./objects }\nstate_storage:\n  adapter: file\n  options: *base\n';
    expect(await parseInstanceConfig(text, FILE, {})).toEqual({
      adapter: 'file',
      options: { path: './objects' },
    });
  });

  it('through resolveStorage, the error names DEFSTATE_HOME’s file', async () => {
    const home = await useTempDir('home');
    await writeFile(join(home, INSTANCE_CONFIG_FILE), 'state_storage: *missing\n');
    const error = await configError(() => resolveStorage({ env: { DEFSTATE_HOME: home } }));
    expect(error.file).toBe(join(home, INSTANCE_CONFIG_FILE));
  });
});

describe('malformed storage URLs', () => {
  it.each([
    ['s3://bucket/%', /malformed %-escape/],
    ['s3://bucket/a%zzb', /malformed %-escape/],
    ['gs://b%/x', /malformed %-escape/],
    ['azblob://acct/c/%E0%A4%A', /malformed %-escape/],
    ['file://host/x', /file:\/\/ URL names a folder on this machine/],
    ['file://', /must name a folder/],
    ['file:///', /must name a folder/],
  ])('%s is a ConfigError naming the variable', async (url, message) => {
    const error = await configError(() => parseStorageUrl(url, 'DEFSTATE_STORAGE_URL'));
    expect(error.message).toMatch(message);
    expect(error.field).toBe('DEFSTATE_STORAGE_URL');
    expect(error.stack ?? '').not.toContain('URIError');
  });

  it('an empty file:// writes nothing, anywhere', async () => {
    const cwd = await useTempDir('cwd');
    const error = await configError(async () => {
      const selection = await resolveStorage({ env: {}, storageUrl: 'file://', cwd });
      return openStore(selection, { projectRoot: cwd });
    });
    expect(error.field).toBe('--storage');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('a URL’s userinfo and credential parameters never reach the message', async () => {
    const secret = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY';
    const token = 'FQoGZXIvYXdzEXAMPLETOKEN';
    for (const url of [
      `s3://AKIAIOSFODNN7EXAMPLE:${secret}@bad bucket/p?x-amz-security-token=${token}`,
      `s3://AKIAIOSFODNN7EXAMPLE:${secret}@bucket/%?x-amz-security-token=${token}`,
      `ftp://AKIAIOSFODNN7EXAMPLE:${secret}@host/p?x-amz-security-token=${token}`,
    ]) {
      const error = await configError(() => parseStorageUrl(url, '--storage'));
      for (const hidden of [secret, token, 'AKIAIOSFODNN7EXAMPLE']) {
        expect(error.message).not.toContain(hidden);
        expect(JSON.stringify({ ...error, message: error.message })).not.toContain(hidden);
      }
    }
  });

  it('a third-party adapter whose optionsFromUrl throws still gives a ConfigError', async () => {
    const project = await useTempDir('project');
    const folder = join(project, 'node_modules', 'defstate-storage-acme');
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'defstate-storage-acme', type: 'module', exports: './index.js' }),
    );
    await writeFile(
      join(folder, 'index.js'),
      `export const storageAdapter = {
        name: 'acme',
        optionsSchema: { safeParse: (value) => ({ success: true, data: value }) },
        optionsFromUrl: (url) => ({ path: decodeURIComponent('%') }),
        create: () => { throw new Error('unreachable'); },
      };`,
    );
    const selection = await resolveStorage({ env: {}, storageUrl: 'acme://x/y', cwd: project });
    expect(selection.adapter).toBe('defstate-storage-acme');
    const error = await configError(() => openStore(selection, { projectRoot: project }));
    expect(error.field).toBe('--storage');
    expect(error.message).toContain('acme://x/y');
  });
});

describe('URL schemes of third-party adapters', () => {
  it('an unknown scheme selects the package defstate-storage-<scheme>', () => {
    expect(parseStorageUrl('minio://bucket/p', '--storage').adapter).toBe('defstate-storage-minio');
  });

  it('an uninstalled one says which package it would take', async () => {
    const project = await useTempDir('project');
    const selection = await resolveStorage({ env: {}, storageUrl: 'minio://b/p', cwd: project });
    const error = await configError(() => openStore(selection, { projectRoot: project }));
    expect(error.message).toContain('"minio:" URLs');
    expect(error.message).toContain('npm install defstate-storage-minio');
  });
});

describe('unknown adapter options', () => {
  const fromConfig = (options: Record<string, unknown>): StorageSelection => ({
    adapter: 'file',
    options,
    baseDir: '/home/ci/defstate',
    source: 'instance-config',
    origin: FILE,
  });

  it('names the unknown option and suggests the one meant', async () => {
    const error = await configError(() =>
      openStore(fromConfig({ pth: '/srv/state' }), { projectRoot: '/' }),
    );
    expect(error.message).toContain('`pth` is unknown');
    expect(error.message).toContain('did you mean `path`?');
    expect(error.field).toBe('state_storage.options.pth');
    expect(error.message).toContain(FILE);
  });

  it('in a URL too, with a strict zod schema of a third-party adapter', async () => {
    const project = await useTempDir('project');
    const folder = join(project, 'node_modules', 'defstate-storage-acme');
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'defstate-storage-acme', type: 'module', exports: './index.js' }),
    );
    const zod = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href;
    await writeFile(
      join(folder, 'index.js'),
      `import { z } from ${JSON.stringify(zod)};
      export const storageAdapter = {
        name: 'acme',
        optionsSchema: z.object({ bucket: z.string(), region: z.string().optional() }).strict(),
        optionsFromUrl: (url) => ({ bucket: url.hostname, ...Object.fromEntries(url.searchParams) }),
        create: () => { throw new Error('unreachable'); },
      };`,
    );
    const selection = await resolveStorage({
      env: {},
      storageUrl: 'acme://bucket/p?regoin=eu-west-1',
      cwd: project,
    });
    const error = await configError(() => openStore(selection, { projectRoot: project }));
    expect(error.message).toContain('`regoin` is unknown');
    expect(error.message).toContain('did you mean `region`?');
    expect(error.field).toBe('--storage');
  });
});

describe('suggestClosest', () => {
  it.each<[string, string[], string | undefined]>([
    ['pth', ['path'], 'path'],
    ['bucekt', ['bucket', 'prefix', 'region'], 'bucket'],
    ['Prefix', ['bucket', 'prefix'], 'prefix'],
    ['zzzzzz', ['bucket', 'prefix'], undefined],
    ['', ['path'], undefined],
  ])('%s among %j: %s', (word, candidates, expected) => {
    expect(suggestClosest(word, candidates)).toBe(expected);
  });
});
