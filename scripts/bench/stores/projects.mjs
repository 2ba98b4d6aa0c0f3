// What the benchmarks that drive the CLI on every backend share: making the bucket or container
// through each backend's own API, the instance config that names it, and a project that can
// resolve the backend's adapter.
import { realpathSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { emulatorEnv } from '../../../tools/emulators/start.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUCKET = 'bench';

/** Creates the bucket or container through each backend's own API; returns the yaml options. */
export const BACKENDS = {
  file: { setup: async (_endpoint, home) => ({ path: join(home, 'objects') }) },
  s3: {
    setup: async (endpoint) => {
      const response = await fetch(`${endpoint}/${BUCKET}`, { method: 'PUT' });
      if (!response.ok) throw new Error(`moto: create bucket → ${response.status}`);
      return { bucket: BUCKET, endpoint, forcePathStyle: true, region: 'us-east-1' };
    },
  },
  gcs: {
    setup: async (endpoint) => {
      const response = await fetch(`${endpoint}/storage/v1/b?project=bench`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: BUCKET }),
      });
      if (!response.ok) throw new Error(`fake-gcs-server: create bucket → ${response.status}`);
      return { bucket: BUCKET, apiEndpoint: endpoint, projectId: 'bench' };
    },
  },
  azure: {
    setup: async (endpoint) => {
      const sdk = join(
        realpathSync(join(ROOT, 'packages/storage-azure/node_modules/@azure/storage-blob')),
        'dist/esm/index.js',
      );
      const { BlobServiceClient } = await import(pathToFileURL(sdk).href);
      const env = emulatorEnv('azure', endpoint);
      await BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING)
        .getContainerClient(BUCKET)
        .create();
      return { container: BUCKET, connectionString: env.AZURE_STORAGE_CONNECTION_STRING };
    },
  },
};

/**
 * Makes the backend's bucket, writes `home/defstate.yaml` naming it, and returns the environment
 * a CLI or an app process needs to use it (`DEFSTATE_HOME=home`).
 */
export async function instanceHome(name, emulator, home) {
  const options = await BACKENDS[name].setup(emulator?.endpoint, home);
  await writeFile(
    join(home, 'defstate.yaml'),
    `state_storage:\n  adapter: ${name}\n  options: ${JSON.stringify(name === 'file' ? options : { ...options, prefix: 'bench' })}\n`,
  );
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    DEFSTATE_HOME: home,
    ...(emulator ? emulatorEnv(name, emulator.endpoint) : {}),
  };
  delete env.STORAGE_EMULATOR_HOST; // the yaml names the endpoint
  return env;
}

/** A project folder whose `defstate.config.mjs` is `config`, able to resolve the adapter. */
export async function projectFolder(folder, adapter, config) {
  await mkdir(join(folder, 'node_modules/@defstate'), { recursive: true });
  await writeFile(join(folder, 'package.json'), '{"name":"bench","private":true}\n');
  if (adapter !== 'file') {
    await symlink(
      join(ROOT, `packages/storage-${adapter}`),
      join(folder, `node_modules/@defstate/storage-${adapter}`),
    );
  }
  await writeFile(join(folder, 'defstate.config.mjs'), config);
  return folder;
}
