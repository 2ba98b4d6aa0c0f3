import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, openStore } from '@defstate/core';
import { describe, expect, test } from 'vitest';
import { AzureStoreOptionsSchema, azureOptionsFromUrl, storageAdapter } from '../src/index.js';
import { blobEndpoint, connectionString, container } from './azurite.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

function issues(input: unknown) {
  const result = AzureStoreOptionsSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error?.issues.map((issue) => ({
    path: issue.path.join('.'),
    message: issue.message,
  }));
}

describe('options schema', () => {
  test('accepts the minimal forms and normalises the prefix', () => {
    expect(
      AzureStoreOptionsSchema.parse({
        container: 'state',
        accountUrl: 'https://acct.blob.core.windows.net',
      }),
    ).toEqual({ container: 'state', prefix: '', accountUrl: 'https://acct.blob.core.windows.net' });
    expect(
      AzureStoreOptionsSchema.parse({
        container: 'state',
        prefix: '/team-a/proj/',
        connectionString: 'x',
      }).prefix,
    ).toBe('team-a/proj');
  });

  test.each([
    [{}, 'container', /container is required/],
    [{ container: 'Bad_Name' }, 'container', /lowercase letters, digits and single hyphens/],
    [{ container: 'ab' }, 'container', /3-63/],
    [{ container: 'state', prefix: 'a/../b' }, 'prefix', /"\." or "\.\."/],
    [{ container: 'state', prefix: 'a//b' }, 'prefix', /no empty/],
    [{ container: 'state', prefix: 7 }, 'prefix', /string/],
    [
      { container: 'state', accountUrl: 'acct.blob.core.windows.net' },
      'accountUrl',
      /http\(s\) URL/,
    ],
    [{ container: 'state', connectionString: '' }, 'connectionString', /must not be empty/],
    [{ container: 'state', sasToken: 'sv=1&sig=x' }, 'accountUrl', /sasToken needs accountUrl/],
    [
      { container: 'state', sasToken: 'sv=1', connectionString: 'x', accountUrl: 'https://a.b' },
      'sasToken',
      /alternatives/,
    ],
    [
      { container: 'state', sasToken: 'sv=1', accountUrl: 'https://a.b/?sv=2&sig=y' },
      'sasToken',
      /already carries a query/,
    ],
  ])('rejects %j naming the field %s', (input, field, message) => {
    const [first] = issues(input) ?? [];
    expect(first?.path).toBe(field);
    expect(first?.message).toMatch(message);
  });

  test('rejects unknown options by name', () => {
    const [first] = issues({ container: 'state', bucket: 'x' }) ?? [];
    expect(first?.message).toMatch(/bucket/);
  });

  test('never echoes a secret value in its messages', () => {
    const secret = 'AccountKey=SECRET-DO-NOT-PRINT';
    const result = AzureStoreOptionsSchema.safeParse({
      container: 'Bad_Name',
      connectionString: secret,
      sasToken: 'sig=SECRET-DO-NOT-PRINT',
    });
    expect(JSON.stringify(result.error?.issues)).not.toContain('SECRET-DO-NOT-PRINT');
  });
});

describe('optionsFromUrl (azblob://<account>/<container>/<prefix>)', () => {
  test.each([
    [
      'azblob://acct/state',
      { container: 'state', prefix: '', accountUrl: 'https://acct.blob.core.windows.net' },
    ],
    [
      'azblob://acct/state/team%20a/proj/',
      {
        container: 'state',
        prefix: 'team a/proj',
        accountUrl: 'https://acct.blob.core.windows.net',
      },
    ],
    [
      'azblob://devstoreaccount1/state/p?endpoint=http://127.0.0.1:10000/devstoreaccount1',
      { container: 'state', prefix: 'p', accountUrl: 'http://127.0.0.1:10000/devstoreaccount1' },
    ],
    [
      'azblob://devstoreaccount1/state?endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Fdevstoreaccount1',
      { container: 'state', prefix: '', accountUrl: 'http://127.0.0.1:10000/devstoreaccount1' },
    ],
  ])('%s', (url, expected) => {
    const options = azureOptionsFromUrl(new URL(url));
    expect(options).toEqual(expected);
    expect(AzureStoreOptionsSchema.parse(options)).toEqual(expected);
  });

  test('a URL without a container fails on the container', () => {
    const [first] = issues(azureOptionsFromUrl(new URL('azblob://acct'))) ?? [];
    expect(first?.path).toBe('container');
  });

  test('the store location is a URL that reopens the same place', async () => {
    const store = await storageAdapter.create(
      AzureStoreOptionsSchema.parse({ container, prefix: 'a/b', accountUrl: blobEndpoint }),
      { baseDir: '.', env: { AZURE_STORAGE_CONNECTION_STRING: connectionString } },
    );
    expect(store.location).toBe(
      `azblob://devstoreaccount1/${container}/a/b?endpoint=${blobEndpoint}`,
    );
    expect(azureOptionsFromUrl(new URL(store.location))).toEqual({
      container,
      prefix: 'a/b',
      accountUrl: blobEndpoint,
    });
  });
});

describe('through core openStore', () => {
  const selection = (options: Record<string, unknown>) => ({
    adapter: 'azure',
    options,
    baseDir: packageRoot,
    source: 'instance-config' as const,
    origin: '/srv/defstate/defstate.yaml',
  });

  test('a bad option is reported as state_storage.options.<field>', async () => {
    const error = await openStore(selection({ container: 'Bad_Name' }), {
      projectRoot: packageRoot,
      env: {},
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('state_storage.options.container');
    expect((error as Error).message).toContain('adapter "azure"');
  });

  test('no account and no connection string is a config error on accountUrl', async () => {
    const error = await openStore(selection({ container: 'state' }), {
      projectRoot: packageRoot,
      env: {},
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('state_storage.options.accountUrl');
  });

  test('DefaultAzureCredential on a plain-http endpoint is a config error on accountUrl', async () => {
    const error = await openStore(selection({ container: 'state', accountUrl: blobEndpoint }), {
      projectRoot: packageRoot,
      env: {},
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('state_storage.options.accountUrl');
    expect((error as Error).message).toContain('AZURE_STORAGE_CONNECTION_STRING');
  });

  test('a malformed connection string is a config error that does not quote it', async () => {
    const error = await openStore(
      selection({ container: 'state', connectionString: 'AccountKey=SECRET-DO-NOT-PRINT' }),
      { projectRoot: packageRoot, env: {} },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('state_storage.options.connectionString');
    expect((error as Error).message).not.toContain('SECRET-DO-NOT-PRINT');
  });

  test('a URL selection opens the emulator with the env connection string', async () => {
    const store = await openStore(
      {
        adapter: 'azure',
        url: new URL(`azblob://devstoreaccount1/${container}/via-url?endpoint=${blobEndpoint}`),
        baseDir: packageRoot,
        source: 'flag',
        origin: '--storage',
      },
      { projectRoot: packageRoot, env: { AZURE_STORAGE_CONNECTION_STRING: connectionString } },
    );
    await store.put('probe', 'ok');
    expect((await store.head('probe'))?.size).toBe(2);
    await store.delete('probe');
  });
});

test('importing the package loads neither Azure SDK', async () => {
  // A resolve hook records every specifier the import pulls in.
  const hooks = `data:text/javascript,${encodeURIComponent(
    `export async function resolve(s, c, next) { if (s.startsWith('@azure/')) console.log('AZURE ' + s); return next(s, c); }`,
  )}`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '-e',
      `const m = await import('@defstate/storage-azure'); console.log('exports', Object.keys(m).length);`,
    ],
    { cwd: packageRoot },
  );
  expect(stdout).toMatch(/exports \d+/);
  expect(stdout).not.toContain('AZURE');
});
