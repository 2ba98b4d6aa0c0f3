import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// The AWS SDK prints an eight-line notice about Node.js versions on every command that opens an
// S3 store under Node 20; it tells a defstate user nothing they can act on there.

const S3_ADAPTER = fileURLToPath(new URL('../../storage-s3', import.meta.url));

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
  await sandbox.write('package.json', '{ "name": "app", "private": true }\n');
  await mkdir(join(sandbox.project, 'node_modules', '@defstate'), { recursive: true });
  await symlink(S3_ADAPTER, join(sandbox.project, 'node_modules', '@defstate', 'storage-s3'));
  await sandbox.write(
    'defstate.config.mjs',
    configModule([['catalog', 'versioned', `await writeFile(statePath, 'C');`]]),
  );
});
afterEach(async () => {
  await sandbox.cleanup();
});

describe('the AWS SDK’s Node.js notice', () => {
  it('is not printed by the CLI', async () => {
    const result = await runDefstate(['status', '--verbose'], {
      cwd: sandbox.project,
      env: {
        ...sandbox.env,
        // Nothing listens there: the command fails after its retries, having made the client.
        DEFSTATE_STORAGE_URL: 's3://state/app?endpoint=http://127.0.0.1:9&region=us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/127\.0\.0\.1:9|ECONNREFUSED|connect/);
    expect(result.stderr).not.toMatch(/AWS SDK for JavaScript|NodeVersionSupportWarning/);
  });
});
