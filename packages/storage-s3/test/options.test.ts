import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, openStore } from '@defstate/core';
import { afterEach, describe, expect, inject, test, vi } from 'vitest';
import { S3StoreOptionsSchema, s3OptionsFromUrl, storageAdapter } from '../src/index.js';
import { isolatedAwsFiles, openTestStore } from './helpers.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

function firstIssue(input: unknown) {
  const result = S3StoreOptionsSchema.safeParse(input);
  expect(result.success).toBe(false);
  const issue = result.error?.issues[0];
  return { path: issue?.path.join('.'), message: issue?.message ?? '' };
}

describe('options', () => {
  test('accept the documented fields and normalise the prefix', () => {
    expect(
      S3StoreOptionsSchema.parse({
        bucket: 'my-state',
        prefix: '/team-a/project/',
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9000',
        forcePathStyle: true,
        profile: 'ci',
      }),
    ).toEqual({
      bucket: 'my-state',
      prefix: 'team-a/project',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      profile: 'ci',
      checksums: 'off',
    });
    expect(S3StoreOptionsSchema.parse({ bucket: 'my-state' })).toEqual({
      bucket: 'my-state',
      prefix: '',
      forcePathStyle: false,
      checksums: 'crc32',
    });
  });

  test('name the field that is wrong', () => {
    expect(firstIssue({})).toMatchObject({
      path: 'bucket',
      message: expect.stringContaining('bucket'),
    });
    expect(firstIssue({ bucket: 'state/folder' })).toMatchObject({
      path: 'bucket',
      message: expect.stringContaining('prefix'),
    });
    expect(firstIssue({ bucket: 'ok-bucket', prefix: 'a/../b' }).path).toBe('prefix');
    expect(firstIssue({ bucket: 'ok-bucket', endpoint: 'localhost 9000' })).toMatchObject({
      path: 'endpoint',
      message: expect.stringContaining('endpoint'),
    });
    expect(firstIssue({ bucket: 'ok-bucket', forcePathStyle: 'maybe' })).toMatchObject({
      path: 'forcePathStyle',
      message: expect.stringContaining('forcePathStyle'),
    });
    expect(firstIssue({ bucket: 'ok-bucket', bukket: 'typo' }).message).toContain('bukket');
  });

  test('core reports a bad option as state_storage.options.<field>', async () => {
    const error = await openStore(
      {
        adapter: 's3',
        options: { bucket: 'ok-bucket', endpoint: 'nope' },
        baseDir: packageRoot,
        source: 'instance-config',
        origin: '/srv/defstate/defstate.yaml',
      },
      { projectRoot: packageRoot },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('state_storage.options.endpoint');
    expect((error as Error).message).toContain('/srv/defstate/defstate.yaml');
  });
});

describe('storage URLs', () => {
  const parse = (url: string) => S3StoreOptionsSchema.safeParse(s3OptionsFromUrl(new URL(url)));

  test('s3://bucket and s3://bucket/prefix', () => {
    expect(parse('s3://my-state').data).toEqual({
      bucket: 'my-state',
      prefix: '',
      forcePathStyle: false,
      checksums: 'crc32',
    });
    expect(parse('s3://my-state/team%20a/project/').data).toMatchObject({
      bucket: 'my-state',
      prefix: 'team a/project',
    });
  });

  test('query parameters set region, endpoint, forcePathStyle and profile', () => {
    expect(
      parse(
        's3://my-state/p?region=us-east-1&endpoint=http://127.0.0.1:9000&forcePathStyle=true&profile=ci',
      ).data,
    ).toEqual({
      bucket: 'my-state',
      prefix: 'p',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      profile: 'ci',
      checksums: 'off',
    });
    expect(parse('s3://my-state?forcePathStyle=false').data?.forcePathStyle).toBe(false);
    expect(parse('s3://my-state?forcePathStyle').data?.forcePathStyle).toBe(true);
  });

  test('a bad or unknown query parameter is named', () => {
    expect(parse('s3://my-state?forcePathStyle=maybe').error?.issues[0]?.path).toEqual([
      'forcePathStyle',
    ]);
    expect(parse('s3://my-state?regoin=us-east-1').error?.issues[0]?.message).toContain('regoin');
  });

  test('the store says where it is, without credentials', async () => {
    const store = await openTestStore({ endpoint: inject('s3Endpoint'), prefix: '/team/p/' });
    expect(store.location).toBe('s3://defstate-test/team/p');
    await store.close();
  });
});

describe('loading', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  test('importing the package does not load the AWS SDK; creating a store does', () => {
    // A resolve hook reports every specifier the child resolves.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier.startsWith('@aws-sdk/')) process.stdout.write('SDK ' + specifier + '\\n');
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { storageAdapter } = await import('@defstate/storage-s3');
      process.stdout.write('IMPORTED\\n');
      const store = await storageAdapter.create(
        storageAdapter.optionsSchema.parse({ bucket: 'any-bucket', region: 'us-east-1' }),
        { baseDir: '.', env: process.env },
      );
      await store.close();
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: packageRoot,
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    const [beforeImport, afterImport] = child.stdout.split('IMPORTED\n');
    expect(beforeImport).not.toContain('SDK ');
    expect(afterImport).toContain('SDK @aws-sdk/client-s3');
  });

  test('a missing region is a config error that says where to set it', async () => {
    const files = await isolatedAwsFiles();
    try {
      const env = { ...files.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
      vi.stubEnv('AWS_REGION', undefined);
      vi.stubEnv('AWS_DEFAULT_REGION', undefined);
      vi.stubEnv('AWS_PROFILE', undefined);
      const error = await Promise.resolve(
        storageAdapter.create(S3StoreOptionsSchema.parse({ bucket: 'any-bucket' }), {
          baseDir: '.',
          env: process.env,
        }),
      ).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('region');
      expect((error as Error).message).toContain('AWS_REGION');
    } finally {
      await files.cleanup();
    }
  });
});
