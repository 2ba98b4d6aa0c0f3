import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// An image installed with `npm ci --omit=dev` has no devDependencies: `verify` warns when the
// adapter the instance config needs, or @defstate/core, is only one.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
  await sandbox.write(
    'defstate.config.mjs',
    configModule([['catalog', 'versioned', `await writeFile(statePath, 'C');`]]),
  );
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

const manifest = (fields: Record<string, unknown>) =>
  sandbox.write('package.json', JSON.stringify({ name: 'app', private: true, ...fields }, null, 2));

const S3 = { DEFSTATE_STORAGE_URL: 's3://state/prod?endpoint=http://127.0.0.1:9&region=us-east-1' };

describe('verify and run-time dependencies', () => {
  it('warns when the adapter the config needs is only a devDependency', async () => {
    await manifest({
      dependencies: { '@defstate/core': '^0.1.0' },
      devDependencies: { '@defstate/storage-s3': '^0.1.0', '@defstate/cli': '^0.1.0' },
    });
    const result = await run(['verify'], S3);
    expect(result.stderr).toMatch(
      /warning: @defstate\/storage-s3 is only a devDependency .*--omit=dev/s,
    );
    expect(result.stderr).toContain('npm install @defstate/storage-s3');
    expect(result.stderr).not.toMatch(/warning: @defstate\/core/);
  });

  it('warns for @defstate/core too, and not at all when both are dependencies', async () => {
    await manifest({
      devDependencies: { '@defstate/core': '^0.1.0', '@defstate/storage-s3': '^0.1.0' },
    });
    const both = await run(['verify', '--json'], S3);
    expect(both.stderr).toMatch(/warning: @defstate\/core is only a devDependency/);
    expect(both.stderr).toMatch(/warning: @defstate\/storage-s3 is only a devDependency/);
    expect(() => JSON.parse(both.stdout)).not.toThrow();

    await manifest({
      dependencies: { '@defstate/core': '^0.1.0', '@defstate/storage-s3': '^0.1.0' },
    });
    const none = await run(['verify'], S3);
    expect(none.stderr).not.toMatch(/devDependency/);
  });

  it('says nothing about the file store, which is part of core', async () => {
    await manifest({ dependencies: { '@defstate/core': '^0.1.0' } });
    const result = await run(['verify']);
    expect(result.stderr).not.toMatch(/devDependency/);
  });
});
