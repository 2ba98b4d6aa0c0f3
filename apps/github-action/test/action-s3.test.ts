import { randomBytes } from 'node:crypto';
import { readPointer } from '@defstate/core';
import { S3StoreOptionsSchema, storageAdapter } from '@defstate/storage-s3';
import { afterEach, beforeAll, beforeEach, expect, inject, test } from 'vitest';
import {
  createWorkspace,
  installPackages,
  runAction,
  type Workspace,
  workflowCommands,
} from './helpers.js';

// The bundle against moto, with @defstate/storage-s3 installed in the project (the action does
// not bundle adapters) and the store chosen by the instance-config input.

const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');

const CONFIG = `import { writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => writeFile(statePath, 'tables: 3') },
    { key: 'team/connectors', management: 'versioned', refresh: async ({ statePath }) => writeFile(statePath, process.env.CONNECTORS ?? 'connectors: 12') },
    { key: 'warehouse', management: 'versioned', refresh: async ({ statePath }) => {
      if (process.env.BREAK_WAREHOUSE) throw new Error('warehouse unreachable: 503 from catalog API');
      await writeFile(statePath, 'rows: 9');
    } },
  ],
};
`;

let workspace: Workspace;
let prefix: string;
beforeEach(async () => {
  workspace = await createWorkspace({ 'defstate.config.mjs': CONFIG });
  await installPackages(workspace, ['@defstate/core', '@defstate/storage-s3']);
  prefix = `action/${randomBytes(6).toString('hex')}`;
});
afterEach(() => workspace.cleanup());

const instanceConfig = () => `state_storage:
  adapter: s3
  options:
    bucket: ${bucket}
    prefix: ${prefix}
    region: us-east-1
    endpoint: ${endpoint}
    forcePathStyle: true
`;

// moto's credentials, and nothing from this machine's AWS setup.
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
};

// The SDK's credential chain reads this process's environment, whatever env the adapter gets.
beforeAll(() => {
  Object.assign(process.env, AWS_ENV);
});

/** The latest pointer as the store holds it, read with the adapter, not with the action. */
async function pointer() {
  const store = await storageAdapter.create(
    S3StoreOptionsSchema.parse({
      bucket,
      prefix,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
    }),
    { baseDir: workspace.root, env: process.env },
  );
  try {
    return Object.fromEntries((await readPointer(store)).entries);
  } finally {
    await store.close?.();
  }
}

test('refreshes into a fresh prefix, pins, verifies, and moves the pointer', async () => {
  const inputs = {
    'instance-config': instanceConfig(),
    'working-directory': 'app',
    pin: 'true',
    verify: 'true',
  };
  const first = await runAction(workspace, inputs, AWS_ENV);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  expect(first.outputs).toMatchObject({ refreshed: '3', unchanged: '0', failed: '0' });
  const versions = JSON.parse(first.outputs.versions ?? '{}') as Record<string, string>;
  const stored = await pointer();
  expect(stored['team/connectors']?.version).toBe(versions['team/connectors']);
  expect(stored.warehouse?.version).toBe(versions.warehouse);
  expect(stored.catalog).toBeUndefined();
  expect(first.summary).toContain(`store <code>s3://${bucket}/${prefix}</code>`);
  expect(first.summary).toContain('✅ 3 keys verified');

  // New bytes for one key: it alone gets a new version.
  const second = await runAction(workspace, inputs, { ...AWS_ENV, CONNECTORS: 'connectors: 13' });
  expect(second.code, second.stdout + second.stderr).toBe(0);
  expect(second.outputs).toMatchObject({ refreshed: '1', unchanged: '2', failed: '0' });
  const next = JSON.parse(second.outputs.versions ?? '{}') as Record<string, string>;
  expect(next['team/connectors']).not.toBe(versions['team/connectors']);
  expect(next.warehouse).toBe(versions.warehouse);
  expect((await pointer())['team/connectors']?.version).toBe(next['team/connectors']);
});

test('a failing versioned key fails the step while the others land', async () => {
  const run = await runAction(
    workspace,
    { 'instance-config': instanceConfig(), 'working-directory': 'app', pin: 'true' },
    { ...AWS_ENV, BREAK_WAREHOUSE: '1' },
  );
  expect(run.code).toBe(1);
  expect(run.outputs).toMatchObject({ refreshed: '2', failed: '1', 'pin-file': '' });
  const errors = workflowCommands(run.stdout).filter((c) => c.command === 'error');
  expect(
    errors.find((c) => c.properties.title === 'defstate: warehouse failed')?.message,
  ).toContain('warehouse unreachable: 503 from catalog API');
  expect(Object.keys(await pointer())).toEqual(['team/connectors']);
  expect(run.summary).toContain('| <code>warehouse</code> | versioned | ❌ failed |');
});

test('a bucket that does not exist fails every versioned key with the store’s own error', async () => {
  const run = await runAction(
    workspace,
    {
      'storage-url': `s3://no-such-bucket-${randomBytes(4).toString('hex')}/x?region=us-east-1&endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true`,
      'working-directory': 'app',
    },
    AWS_ENV,
  );
  expect(run.code).toBe(1);
  expect(run.outputs).toMatchObject({ refreshed: '1', failed: '2' });
  const errors = workflowCommands(run.stdout).filter((c) => c.command === 'error');
  expect(errors.find((c) => c.properties.title === 'defstate: warehouse failed')?.message).toMatch(
    /The S3 bucket "no-such-bucket-[0-9a-f]+" does not exist/,
  );
});

test('a project without the adapter installed is told how to install it', async () => {
  const bare = await createWorkspace({ 'defstate.config.mjs': CONFIG, 'pnpm-lock.yaml': '' });
  try {
    const run = await runAction(
      bare,
      { 'instance-config': instanceConfig(), 'working-directory': 'app' },
      AWS_ENV,
    );
    expect(run.code).toBe(1);
    const [error] = workflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(error?.message).toContain(`storage adapter "s3" is not installed in ${bare.project}`);
    expect(error?.message).toContain('pnpm add @defstate/storage-s3');
  } finally {
    await bare.cleanup();
  }
});
