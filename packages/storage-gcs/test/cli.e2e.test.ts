import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { afterEach, beforeEach, describe, expect, inject, test } from 'vitest';
import { startEmulator } from '../../../tools/emulators/start.mjs';
import { runNode } from '../../../tools/testing/run-node.mjs';

// The built `defstate` CLI in throwaway projects, with this adapter installed in the project (as a
// symlink, the way a workspace or `npm link` installs it) and fake-gcs-server as the bucket.

const BIN = fileURLToPath(new URL('../../cli/bin/defstate.js', import.meta.url));
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const endpoint = inject('gcsEndpoint');
const bucket = inject('gcsBucket');

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Project {
  root: string;
  project: string;
  home: string;
  env: NodeJS.ProcessEnv;
  prefix: string;
}
let sandbox: Project;

beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'defstate-gcs-e2e-'));
  const project = join(root, 'project');
  const home = join(root, 'home');
  await mkdir(project, { recursive: true });
  await mkdir(join(home, 'instance'), { recursive: true });
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'gcs-e2e', private: true, type: 'module' }),
  );
  await writeFile(
    join(project, 'defstate.config.mjs'),
    `import { readFile, writeFile } from 'node:fs/promises';
export default {
  components: [
    { key: 'catalog', management: 'local', refresh: async ({ statePath }) => { await writeFile(statePath, 'L'); } },
    { key: 'flags/prod', management: 'versioned', refresh: async ({ statePath }) => { await writeFile(statePath, await readFile('source.txt')); } },
  ],
};
`,
  );
  await writeFile(join(project, 'source.txt'), 'V1');
  sandbox = {
    root,
    project,
    home,
    prefix: `e2e/${randomBytes(6).toString('hex')}`,
    // Only what the CLI needs: no STORAGE_EMULATOR_HOST, no cloud credentials from this machine.
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_STATE_HOME: join(home, 'state'),
      XDG_CACHE_HOME: join(home, 'cache'),
      NO_COLOR: '1',
    },
  };
});
afterEach(() => rm(sandbox.root, { recursive: true, force: true }));

async function install() {
  const target = join(sandbox.project, 'node_modules', '@defstate', 'storage-gcs');
  await mkdir(dirname(target), { recursive: true });
  await symlink(PACKAGE, target, 'dir');
}

async function instanceConfig(options: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  const home = join(sandbox.home, 'instance');
  const lines = Object.entries(options).map(([name, value]) => `    ${name}: "${value}"`);
  await writeFile(
    join(home, 'defstate.yaml'),
    `state_storage:\n  adapter: gcs\n  options:\n${lines.join('\n')}\n`,
  );
  return { DEFSTATE_HOME: home };
}

function defstate(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runNode([BIN, ...args], { cwd: sandbox.project, env: { ...sandbox.env, ...env } });
}

async function versionedStatus(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await defstate(['status', '--json', ...args], env);
  expect(result.code, result.stderr).toBe(0);
  const { keys } = JSON.parse(result.stdout) as {
    keys: Array<{ key: string; version: string | null; sha256: string | null }>;
  };
  return keys.find((entry) => entry.key === 'flags/prod');
}

async function objectNames(apiEndpoint: string, bucketName: string, prefix: string) {
  const storage = new Storage({ apiEndpoint, projectId: 'test-project' });
  const [files] = await storage.bucket(bucketName).getFiles({ prefix: `${prefix}/` });
  return files.map((file) => file.name.slice(prefix.length + 1)).sort();
}

describe('defstate CLI with the gcs adapter', () => {
  test('refreshes into the bucket named by DEFSTATE_HOME/defstate.yaml', async () => {
    await install();
    const env = await instanceConfig({
      bucket,
      prefix: sandbox.prefix,
      apiEndpoint: endpoint,
      projectId: 'test-project',
    });
    const refresh = await defstate(['refresh'], env);
    expect(refresh.code, refresh.stderr + refresh.stdout).toBe(0);
    expect(refresh.stderr).not.toContain('DEFSTATE_HOME is not set');
    const status = await versionedStatus([], env);
    expect(status?.sha256).toBe(sha256('V1'));
    expect(status?.version).toMatch(/\S/);
    const names = await objectNames(endpoint, bucket, sandbox.prefix);
    expect(names).toContain('layout.json');
    expect(names.filter((name) => name.startsWith('states/'))).toHaveLength(1);
    expect(names.find((name) => name.startsWith('states/'))).toContain(status?.version);
  });

  test('refreshes through the gs:// URL shorthand', async () => {
    await install();
    const url = `gs://${bucket}/${sandbox.prefix}?apiEndpoint=${endpoint}&projectId=test-project`;
    const refresh = await defstate(['refresh', '--storage', url]);
    expect(refresh.code, refresh.stderr + refresh.stdout).toBe(0);
    expect((await versionedStatus(['--storage', url]))?.sha256).toBe(sha256('V1'));
    expect(await objectNames(endpoint, bucket, sandbox.prefix)).toContain('layout.json');
  });

  test('fails with the bucket named when the bucket does not exist, publishing nothing', async () => {
    await install();
    const env = await instanceConfig({
      bucket: 'defstate-no-such-bucket',
      prefix: sandbox.prefix,
      apiEndpoint: endpoint,
    });
    const refresh = await defstate(['refresh', '-m', 'versioned'], env);
    expect(refresh.code).toBe(1);
    expect(refresh.stdout + refresh.stderr).toContain(
      'The GCS bucket "defstate-no-such-bucket" does not exist',
    );
    const status = await defstate(['status', '--json'], env);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('"defstate-no-such-bucket"');
  });

  test('fails clearly when the emulator goes away between two refreshes', async () => {
    await install();
    const second = await startEmulator('gcs');
    try {
      const created = await fetch(`${second.endpoint}/storage/v1/b?project=test-project`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'defstate-outage' }),
      });
      expect(created.ok).toBe(true);
      const env = await instanceConfig({
        bucket: 'defstate-outage',
        prefix: sandbox.prefix,
        apiEndpoint: second.endpoint,
      });
      const first = await defstate(['refresh', '-m', 'versioned'], env);
      expect(first.code, first.stderr + first.stdout).toBe(0);
      await second.stop();
      await writeFile(join(sandbox.project, 'source.txt'), 'V2');
      const again = await defstate(['refresh', '-m', 'versioned', '--retries', '1'], env);
      expect(again.code).toBe(1);
      // The store is unreachable, so every versioned key fails with the cause: the object, the
      // store and the network error.
      expect(again.stdout).toMatch(/✗ \S+ \(versioned\) failed/);
      expect(again.stdout).toContain(
        `Google Cloud Storage failed get on gs://defstate-outage/${sandbox.prefix}/layout.json (ECONNREFUSED)`,
      );
      // The store is gone, so no pointer can have moved; status says so instead of guessing.
      const status = await defstate(['status', '--json'], env);
      expect(status.code).toBe(1);
    } finally {
      await second.stop();
    }
  });

  test('exits 2 with an install command when the adapter is not installed in the project', async () => {
    const env = await instanceConfig({ bucket, prefix: sandbox.prefix, apiEndpoint: endpoint });
    const refresh = await defstate(['refresh'], env);
    expect(refresh.code).toBe(2);
    expect(refresh.stderr).toContain('storage adapter "gcs" is not installed');
    expect(refresh.stderr).toContain('install @defstate/storage-gcs');
    expect(await objectNames(endpoint, bucket, sandbox.prefix)).toEqual([]);
  });
});
