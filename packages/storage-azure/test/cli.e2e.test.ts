import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  DEFAULT_POINTER_SHARDS,
  LAYOUT_OBJECT,
  pointerShardName,
  publishedRecordName,
  REFRESH_TIMINGS_OBJECT,
  STATE_INFO_OBJECT,
  type StateInfo,
  shardOf,
  stateObjectName,
} from '@defstate/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { emulatorEnv, startEmulator } from '../../../tools/emulators/start.mjs';
import { runNode } from '../../../tools/testing/run-node.mjs';
import {
  blobEndpoint,
  connectionString,
  container,
  FAKE_KEY,
  uniquePrefix,
  wrongKeyConnectionString,
} from './azurite.js';

// The built `defstate` CLI, spawned in throwaway projects that install this adapter the way a
// user's project would: node_modules/@defstate/storage-azure, resolved from the project.

const BIN = fileURLToPath(new URL('../../cli/bin/defstate.js', import.meta.url));
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const service = BlobServiceClient.fromConnectionString(connectionString);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let root: string;
let project: string;
let baseEnv: NodeJS.ProcessEnv;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'defstate-azure-e2e-'));
  project = join(root, 'project');
  const home = join(root, 'home');
  await mkdir(home, { recursive: true });
  await write(
    'package.json',
    JSON.stringify({ name: 'e2e-project', private: true, type: 'module' }),
  );
  await write(
    'defstate.config.mjs',
    `import { readFile, writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => { await writeFile(statePath, 'local state'); } },
    { key: 'warehouse/tables', management: 'versioned', refresh: async ({ statePath }) => { await writeFile(statePath, await readFile('source.txt')); } },
  ],
};
`,
  );
  await write('source.txt', 'version one');
  // Only what the CLI needs, and a HOME of its own: nothing leaks in from this machine.
  baseEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
  };
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function write(relativePath: string, content: string): Promise<string> {
  const path = join(project, relativePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return path;
}

async function installAdapter(): Promise<void> {
  const target = join(project, 'node_modules', '@defstate', 'storage-azure');
  await mkdir(dirname(target), { recursive: true });
  await symlink(PACKAGE_ROOT, target, 'dir');
}

/** A DEFSTATE_HOME whose defstate.yaml selects this adapter. */
async function instanceHome(options: Record<string, string>): Promise<string> {
  const home = join(root, 'instance');
  const lines = Object.entries(options).map(([key, value]) => `    ${key}: "${value}"`);
  await mkdir(home, { recursive: true });
  await writeFile(
    join(home, 'defstate.yaml'),
    `state_storage:\n  adapter: azure\n  options:\n${lines.join('\n')}\n`,
  );
  return home;
}

function defstate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runNode([BIN, ...args], { cwd: project, env: { ...baseEnv, ...env } });
}

async function versionedStatus(args: string[], env: NodeJS.ProcessEnv) {
  const result = await defstate(['status', '--json', ...args], env);
  expect(result.code, result.stderr).toBe(0);
  const { keys } = JSON.parse(result.stdout) as {
    keys: Array<{
      key: string;
      version: string | null;
      sha256: string | null;
      size: number | null;
    }>;
  };
  return keys.find((entry) => entry.key === 'warehouse/tables');
}

async function blobsUnder(prefix: string, client = service, name = container): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of client.getContainerClient(name).listBlobsFlat({ prefix: `${prefix}/` }))
    names.push(blob.name);
  return names.sort();
}

async function blobText(blobName: string, client = service): Promise<string> {
  const buffer = await client
    .getContainerClient(container)
    .getBlobClient(blobName)
    .downloadToBuffer();
  return buffer.toString('utf8');
}

describe('defstate CLI with the azure adapter', () => {
  test('DEFSTATE_HOME → defstate.yaml (adapter: azure): refresh publishes into the container under the prefix', async () => {
    await installAdapter();
    const prefix = uniquePrefix('e2e-home');
    const home = await instanceHome({
      container,
      prefix,
      accountUrl: blobEndpoint,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's ${env:NAME} syntax, not a template
      connectionString: '${env:E2E_AZURE_CONNECTION_STRING}',
    });
    const env = { DEFSTATE_HOME: home, E2E_AZURE_CONNECTION_STRING: connectionString };

    const refresh = await defstate(['refresh'], env);
    expect(refresh.code, refresh.stdout + refresh.stderr).toBe(0);
    expect(refresh.stdout).toMatch(/✓ warehouse\/tables \(versioned\) refreshed/);
    expect(refresh.stderr).not.toContain('DEFSTATE_HOME is not set');
    expect(await readFile(join(project, '.local_defs_state/catalog/state'), 'utf8')).toBe(
      'local state',
    );

    const status = await versionedStatus([], env);
    expect(status).toMatchObject({ sha256: sha256('version one'), size: 'version one'.length });
    const version = status?.version as string;
    expect(version).toMatch(/\S/);

    const objectName = `${prefix}/${stateObjectName('warehouse/tables', version)}`;
    // The state object, its record, the layout, the key's pointer shard, the stub that stops
    // older versions from writing the first layout's pointer, and the keys' refresh durations.
    const record = `${prefix}/${publishedRecordName({ ...status, key: 'warehouse/tables', management: 'versioned' } as StateInfo)}`;
    const shard = `${prefix}/${pointerShardName(shardOf('warehouse/tables', DEFAULT_POINTER_SHARDS))}`;
    expect(await blobsUnder(prefix)).toEqual(
      [
        objectName,
        `${prefix}/${LAYOUT_OBJECT}`,
        shard,
        `${prefix}/${REFRESH_TIMINGS_OBJECT}`,
        `${prefix}/${STATE_INFO_OBJECT}`,
        record,
      ].sort(),
    );
    expect(await blobText(objectName)).toBe('version one');
    const info = JSON.parse(await blobText(shard));
    expect(info.keys['warehouse/tables']).toMatchObject({
      version,
      sha256: sha256('version one'),
      generation: 1,
    });
  });

  test('--storage azblob://<account>/<container>/<prefix>?endpoint=… with AZURE_STORAGE_CONNECTION_STRING', async () => {
    await installAdapter();
    const prefix = uniquePrefix('e2e-url');
    const url = `azblob://devstoreaccount1/${container}/${prefix}?endpoint=${blobEndpoint}`;
    const env = { AZURE_STORAGE_CONNECTION_STRING: connectionString };

    const refresh = await defstate(['refresh', '--json', '--storage', url], env);
    expect(refresh.code, refresh.stderr).toBe(0);
    const report = JSON.parse(refresh.stdout);
    expect(report.store).toBe(url);
    const status = await versionedStatus(['--storage', url], env);
    expect(status?.sha256).toBe(sha256('version one'));
    expect(await blobsUnder(prefix)).toContain(
      `${prefix}/${stateObjectName('warehouse/tables', status?.version as string)}`,
    );

    // A second refresh of changed state moves the pointer to a newer version.
    await write('source.txt', 'version two');
    expect((await defstate(['refresh', '--storage', url], env)).code).toBe(0);
    const after = await versionedStatus(['--storage', url], env);
    expect(after?.sha256).toBe(sha256('version two'));
    expect((after?.version as string) > (status?.version as string)).toBe(true);
  });

  test('wrong credentials: exit 1, the message names the credentials tried and not the key, nothing published', async () => {
    await installAdapter();
    const prefix = uniquePrefix('e2e-denied');
    const url = `azblob://devstoreaccount1/${container}/${prefix}?endpoint=${blobEndpoint}`;
    const result = await defstate(['refresh', '--storage', url], {
      AZURE_STORAGE_CONNECTION_STRING: wrongKeyConnectionString,
    });
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toContain(
      'AZURE_STORAGE_CONNECTION_STRING (account "devstoreaccount1", shared key)',
    );
    expect(output).not.toContain(FAKE_KEY);
    expect(await blobsUnder(prefix)).toEqual([]);
  });

  test('a missing container: exit 1, the message names it, nothing published', async () => {
    await installAdapter();
    const home = await instanceHome({
      container: 'no-such-container',
      prefix: 'p',
      accountUrl: blobEndpoint,
    });
    const result = await defstate(['refresh'], {
      DEFSTATE_HOME: home,
      AZURE_STORAGE_CONNECTION_STRING: connectionString,
    });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(
      'The Azure Blob container "no-such-container" does not exist in storage account "devstoreaccount1"',
    );
    const exists = await service.getContainerClient('no-such-container').exists();
    expect(exists).toBe(false);
  });

  test('the emulator stopped mid-run: the next refresh fails clearly with exit 1', async () => {
    await installAdapter();
    // A second Azurite of this test's own, so stopping it disturbs nobody else.
    const emulator = await startEmulator('azure');
    try {
      const ownEnv = emulatorEnv('azure', emulator.endpoint);
      const own = BlobServiceClient.fromConnectionString(
        ownEnv.AZURE_STORAGE_CONNECTION_STRING as string,
      );
      await own.getContainerClient(container).create();
      const url = `azblob://devstoreaccount1/${container}/mid-run?endpoint=${ownEnv.AZURE_STORAGE_BLOB_ENDPOINT}`;
      const env = { AZURE_STORAGE_CONNECTION_STRING: ownEnv.AZURE_STORAGE_CONNECTION_STRING };

      const first = await defstate(['refresh', '--storage', url], env);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const published = await blobsUnder('mid-run', own);
      expect(published).toContain(`mid-run/${LAYOUT_OBJECT}`);

      await emulator.stop();
      await write('source.txt', 'version two');
      const second = await defstate(['refresh', '--storage', url], env);
      expect(second.code).toBe(1);
      const output = second.stdout + second.stderr;
      expect(output).toContain(`could not reach azblob://devstoreaccount1/${container}/mid-run`);
      expect(output).toContain('ECONNREFUSED');
    } finally {
      await emulator.stop();
    }
  });

  test('the adapter not installed in the project: exit 2 with the install command', async () => {
    const url = `azblob://devstoreaccount1/${container}/never?endpoint=${blobEndpoint}`;
    const result = await defstate(['refresh', '--storage', url], {
      AZURE_STORAGE_CONNECTION_STRING: connectionString,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('storage adapter "azure" is not installed');
    expect(result.stderr).toContain('npm install @defstate/storage-azure');
    expect(await blobsUnder('never')).toEqual([]);
  });
});
