import { spawnSync } from 'node:child_process';
import { ConfigError, openStore } from '@defstate/core';
import { GcsStoreOptionsSchema, gcsOptionsFromUrl } from '@defstate/storage-gcs';
import { describe, expect, test } from 'vitest';

const packageRoot = new URL('..', import.meta.url).pathname;

function firstIssue(options: unknown) {
  const result = GcsStoreOptionsSchema.safeParse(options);
  expect(result.success).toBe(false);
  const issue = result.error?.issues[0];
  return { path: issue?.path.join('.'), message: issue?.message };
}

describe('options', () => {
  test('accept a bucket alone and normalise the prefix', () => {
    expect(GcsStoreOptionsSchema.parse({ bucket: 'my-bucket' })).toEqual({
      bucket: 'my-bucket',
      prefix: '',
    });
    expect(GcsStoreOptionsSchema.parse({ bucket: 'b.example.com', prefix: '/a/b/' }).prefix).toBe(
      'a/b',
    );
  });

  test('name the field that is wrong', () => {
    expect(firstIssue({}).path).toBe('bucket');
    expect(firstIssue({ bucket: 'Upper_Case' })).toMatchObject({
      path: 'bucket',
      message: expect.stringContaining('GCS bucket name'),
    });
    expect(firstIssue({ bucket: 'x'.repeat(64) }).path).toBe('bucket');
    expect(firstIssue({ bucket: 'ok-bucket', prefix: 'a//b' }).path).toBe('prefix');
    expect(firstIssue({ bucket: 'ok-bucket', prefix: 'a/../b' }).path).toBe('prefix');
    expect(firstIssue({ bucket: 'ok-bucket', apiEndpoint: 'localhost:4443' })).toMatchObject({
      path: 'apiEndpoint',
      message: 'apiEndpoint must be an http(s) URL',
    });
    expect(firstIssue({ bucket: 'ok-bucket', useAuthWithCustomEndpoint: 'yes' }).path).toBe(
      'useAuthWithCustomEndpoint',
    );
    expect(firstIssue({ bucket: 'ok-bucket', keyfilename: 'k.json' }).message).toContain(
      'keyfilename',
    );
  });

  test('reach defstate.yaml errors as state_storage.options.<field>', async () => {
    const error = await openStore(
      {
        adapter: 'gcs',
        options: { bucket: 'ok-bucket', apiEndpoint: 'not a url' },
        baseDir: packageRoot,
        source: 'instance-config',
        origin: '/srv/defstate/defstate.yaml',
      },
      { projectRoot: packageRoot },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('state_storage.options.apiEndpoint');
    expect((error as Error).message).toContain('/srv/defstate/defstate.yaml');
  });

  test('read the gs:// URL forms', () => {
    expect(gcsOptionsFromUrl(new URL('gs://my-bucket'))).toEqual({
      bucket: 'my-bucket',
      prefix: '',
    });
    expect(gcsOptionsFromUrl(new URL('gs://my-bucket/'))).toEqual({
      bucket: 'my-bucket',
      prefix: '/',
    });
    const full = gcsOptionsFromUrl(
      new URL(
        'gs://my-bucket/team%20a/state?apiEndpoint=http://127.0.0.1:4443&projectId=p1&useAuthWithCustomEndpoint=true',
      ),
    );
    expect(full).toEqual({
      bucket: 'my-bucket',
      prefix: '/team a/state',
      apiEndpoint: 'http://127.0.0.1:4443',
      projectId: 'p1',
      useAuthWithCustomEndpoint: true,
    });
    expect(GcsStoreOptionsSchema.parse(full).prefix).toBe('team a/state');
    // A misspelt parameter is refused by name, not ignored.
    const typo = GcsStoreOptionsSchema.safeParse(
      gcsOptionsFromUrl(new URL('gs://my-bucket?apiEndpont=http://x')),
    );
    expect(typo.error?.issues[0]?.message).toContain('apiEndpont');
  });

  test('importing the package does not load the SDK; creating a store does', () => {
    const hook = `data:text/javascript,${encodeURIComponent(
      `export async function resolve(specifier, context, next) { if (specifier.startsWith('@google-cloud/')) process.stderr.write('SDK ' + specifier + '\\n'); return next(specifier, context); }`,
    )}`;
    const run = (code: string) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(hook)});`,
          '--input-type=module',
          '-e',
          code,
        ],
        { cwd: packageRoot, encoding: 'utf8' },
      );
    const imported = run(`await import('@defstate/storage-gcs');`);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stderr).not.toContain('SDK ');
    const created = run(
      `const { createGcsStore } = await import('@defstate/storage-gcs'); await createGcsStore({ bucket: 'abc', apiEndpoint: 'http://127.0.0.1:9' });`,
    );
    expect(created.status, created.stderr).toBe(0);
    expect(created.stderr).toContain('SDK @google-cloud/storage');
  });
});
