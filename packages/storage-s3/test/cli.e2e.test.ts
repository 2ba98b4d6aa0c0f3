import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  DEFAULT_POINTER_SHARDS,
  keyToFolder,
  pointerShardName,
  publishedRecordName,
  type StateInfo,
  shardOf,
} from '@defstate/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import {
  motoSetAuth,
  type RunningEmulator,
  startEmulator,
} from '../../../tools/emulators/start.mjs';
import { runNode } from '../../../tools/testing/run-node.mjs';
import { rawClient } from './helpers.js';

// The real, built `defstate` in throwaway projects that install this adapter, against moto.

const BIN = join(
  dirname(createRequire(import.meta.url).resolve('@defstate/cli/package.json')),
  'bin',
  'defstate.js',
);
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// A local and a versioned component. The versioned one can be told (MARKER/GO) to pause after
// writing its state, so a test can stop the emulator before the upload.
const CONFIG = `import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'local-key', management: 'local', refresh: async ({ statePath }) => writeFile(statePath, 'L') },
    { key: 'team/versioned-key', management: 'versioned', refresh: async ({ statePath }) => {
      await writeFile(statePath, process.env.STATE ?? 'V1');
      if (process.env.MARKER) {
        await writeFile(process.env.MARKER, '');
        while (!existsSync(process.env.GO)) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } },
  ],
};
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let root: string;
let project: string;
let home: string;
let baseEnv: NodeJS.ProcessEnv;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'defstate-s3-e2e-'));
  project = join(root, 'project');
  home = join(root, 'home');
  await mkdir(join(home, 'instance'), { recursive: true });
  await mkdir(join(project, 'node_modules', '@defstate'), { recursive: true });
  await writeFile(join(project, 'package.json'), '{ "name": "e2e-project", "private": true }\n');
  await writeFile(join(project, 'defstate.config.mjs'), CONFIG);
  await writeFile(join(home, 'aws-config'), '');
  baseEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** What `pnpm add @defstate/storage-s3` would leave in the project. */
const installAdapter = () =>
  symlink(PACKAGE_ROOT, join(project, 'node_modules', '@defstate', 'storage-s3'), 'dir');

async function useInstanceConfig(options: Record<string, unknown>): Promise<string> {
  const lines = Object.entries(options).map(
    ([name, value]) => `    ${name}: ${JSON.stringify(value)}`,
  );
  const folder = join(home, 'instance');
  await writeFile(
    join(folder, 'defstate.yaml'),
    `state_storage:\n  adapter: s3\n  options:\n${lines.join('\n')}\n`,
  );
  return folder;
}

function defstate(args: string[], env: NodeJS.ProcessEnv = {}, onSpawn?: () => void): Promise<Run> {
  return runNode([BIN, ...args], { cwd: project, env: { ...baseEnv, ...env }, onSpawn });
}

async function versionedStatus(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await defstate(['status', '--json', ...args], env);
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout) as {
    keys: Array<{ key: string; version: string | null; sha256: string | null }>;
  };
  return status.keys.find((entry) => entry.key === 'team/versioned-key');
}

async function keysUnder(client: S3Client, inBucket: string, prefix: string): Promise<string[]> {
  const listed = await client.send(
    new ListObjectsV2Command({ Bucket: inBucket, Prefix: `${prefix}/` }),
  );
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function objectSha256(client: S3Client, key: string): Promise<string> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return sha256(
    await (object.Body as { transformToString(): Promise<string> }).transformToString(),
  );
}

describe('defstate with the s3 adapter', () => {
  let client: S3Client;
  beforeAll(() => {
    client = rawClient(endpoint);
  });
  afterAll(() => client.destroy());

  test('DEFSTATE_HOME selects s3: refresh publishes under the prefix and status reads it', async () => {
    await installAdapter();
    const prefix = `e2e/${randomBytes(6).toString('hex')}`;
    const instance = await useInstanceConfig({
      bucket,
      prefix,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
    });
    const refresh = await defstate(['refresh'], { DEFSTATE_HOME: instance });
    expect(refresh.code, refresh.stderr + refresh.stdout).toBe(0);
    expect(refresh.stderr).not.toContain('DEFSTATE_HOME is not set');

    const status = await versionedStatus([], { DEFSTATE_HOME: instance });
    expect(status?.sha256).toBe(sha256('V1'));
    expect(status?.version).toMatch(/\S/);
    const versionKey = `${prefix}/states/${keyToFolder('team/versioned-key')}/${status?.version}`;
    // The state object, its record, the layout, the key's pointer shard, the stub that stops
    // older versions from writing the first layout's pointer, and the keys' refresh durations.
    const record = `${prefix}/${publishedRecordName({ ...status, key: 'team/versioned-key', management: 'versioned' } as StateInfo)}`;
    const shard = `${prefix}/${pointerShardName(shardOf('team/versioned-key', DEFAULT_POINTER_SHARDS))}`;
    expect(await keysUnder(client, bucket, prefix)).toEqual(
      [
        versionKey,
        `${prefix}/layout.json`,
        shard,
        `${prefix}/refresh-timings.json`,
        `${prefix}/state-info.json`,
        record,
      ].sort(),
    );
    expect(await objectSha256(client, versionKey)).toBe(sha256('V1'));
  });

  test('the s3:// URL shorthand works the same', async () => {
    await installAdapter();
    const prefix = `e2e/${randomBytes(6).toString('hex')}`;
    const url = `s3://${bucket}/${prefix}?endpoint=${endpoint}&forcePathStyle=true&region=us-east-1`;
    const refresh = await defstate(['refresh', '--storage', url]);
    expect(refresh.code, refresh.stderr + refresh.stdout).toBe(0);
    const status = await versionedStatus(['--storage', url]);
    expect(status?.sha256).toBe(sha256('V1'));
    const keys = await keysUnder(client, bucket, prefix);
    expect(keys).toContain(`${prefix}/layout.json`);
    expect(keys).toContain(
      `${prefix}/states/${keyToFolder('team/versioned-key')}/${status?.version}`,
    );
  });

  test('a missing bucket fails the run and names the bucket', async () => {
    await installAdapter();
    const instance = await useInstanceConfig({
      bucket: 'defstate-e2e-absent',
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
    });
    const refresh = await defstate(['refresh'], { DEFSTATE_HOME: instance });
    expect(refresh.code).toBe(1);
    // Per key on stdout, or for the whole run on stderr: either way it names the bucket.
    const output = refresh.stdout + refresh.stderr;
    expect(output).toContain('S3 bucket "defstate-e2e-absent" does not exist');
    expect(output).toContain('aws s3 mb s3://defstate-e2e-absent');
  });

  test('without the adapter installed in the project: exit 2 and the install command', async () => {
    const instance = await useInstanceConfig({ bucket, region: 'us-east-1', endpoint });
    const refresh = await defstate(['refresh'], { DEFSTATE_HOME: instance });
    expect(refresh.code).toBe(2);
    expect(refresh.stderr).toContain('storage adapter "s3" is not installed');
    expect(refresh.stderr).toContain('npm install @defstate/storage-s3');
    expect(existsSync(join(project, '.local_defs_state', 'local-key'))).toBe(false);
  });
});

describe('defstate against an S3 that refuses or goes away', () => {
  // A private emulator: these tests switch its auth on and stop it.
  let emulator: RunningEmulator;
  let client: S3Client;
  const prefix = `e2e/${randomBytes(6).toString('hex')}`;
  beforeAll(async () => {
    emulator = await startEmulator('s3');
    client = rawClient(emulator.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    client.destroy();
    await emulator.stop();
  });

  const instanceFor = () =>
    useInstanceConfig({
      bucket,
      prefix,
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      forcePathStyle: true,
    });

  test('refused credentials fail the run, name the credentials and publish nothing', async () => {
    await installAdapter();
    const instance = await instanceFor();
    const secret = 'DEFSTATE-E2E-SECRET-never-printed';
    await motoSetAuth(emulator.endpoint, 0);
    let refresh: Run;
    try {
      refresh = await defstate(['refresh'], {
        DEFSTATE_HOME: instance,
        AWS_ACCESS_KEY_ID: 'AKIADEFSTATEE2E00001',
        AWS_SECRET_ACCESS_KEY: secret,
      });
    } finally {
      await motoSetAuth(emulator.endpoint, Number.POSITIVE_INFINITY);
    }
    expect(refresh.code).toBe(1);
    const output = refresh.stdout + refresh.stderr;
    expect(output).toContain('InvalidAccessKeyId');
    expect(output).toContain('AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY');
    expect(output).not.toContain(secret);
    expect(await keysUnder(client, bucket, prefix)).toEqual([]);
  });

  test('the store stopping mid-run fails the versioned key clearly, exit 1', async () => {
    await installAdapter();
    const instance = await instanceFor();
    const first = await defstate(['refresh'], { DEFSTATE_HOME: instance });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const published = await keysUnder(client, bucket, prefix);

    const marker = join(root, 'writing');
    const go = join(root, 'go');
    const second = await defstate(
      ['refresh', '--retries', '1'],
      { DEFSTATE_HOME: instance, STATE: 'V2', MARKER: marker, GO: go },
      () => {
        // Once the state is written (the pointer was read), take the store away, then let the
        // component finish so the upload meets a closed port.
        const timer = setInterval(() => {
          if (!existsSync(marker)) return;
          clearInterval(timer);
          void emulator.stop().then(() => writeFile(go, ''));
        }, 20);
      },
    );
    expect(second.code).toBe(1);
    expect(second.stdout).toContain('✗ team/versioned-key (versioned) failed');
    expect(second.stdout).toContain('ECONNREFUSED');
    expect(second.stdout).toContain(`s3://${bucket}/${prefix}`);
    expect(second.stdout).toMatch(/✓ local-key \(local\) (refreshed|unchanged)/);
    // The state object, its record, the layout, the pointer shard, the stub and the refresh
    // durations: nothing more.
    expect(published.length).toBe(6);
  });
});
