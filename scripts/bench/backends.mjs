// `node scripts/bench/backends.mjs`: the refresh engine and `defstate status` on every backend,
// each on its emulator, against the embedded file store measured in the same run. Prints a table.
//   - refresh of 200 versioned components (wall time, state-info document writes);
//   - `defstate status` with 1,000 versioned keys (median of 5; one read of the pointer).
// Needs the CLI and the adapters built and the emulators installed (`pnpm bench` does both).
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { emulatorEnv, startEmulator } from '../../tools/emulators/start.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/defstate.js');
const BUCKET = 'bench';
const STATUS_KEYS = Number(process.env.BENCH_STATUS_KEYS ?? 1000);

/** Creates the bucket or container through each backend's own API; returns the yaml options. */
const BACKENDS = {
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

function run(args, options) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(
      `defstate ${args.join(' ')} exited ${result.status}:\n${result.stderr}${result.stdout}`,
    );
  return { ms, stdout: result.stdout };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function project(root, name, count, adapter) {
  const folder = join(root, name);
  await mkdir(join(folder, 'node_modules/@defstate'), { recursive: true });
  await writeFile(join(folder, 'package.json'), '{"name":"bench","private":true}\n');
  if (adapter !== 'file') {
    await symlink(
      join(ROOT, `packages/storage-${adapter}`),
      join(folder, `node_modules/@defstate/storage-${adapter}`),
    );
  }
  const components = Array.from(
    { length: count },
    (_, index) =>
      `  { key: 'component-${index}', management: 'versioned', refresh: ({ statePath }) => writeFile(statePath, 'state ${index} of ${name}') },`,
  );
  await writeFile(
    join(folder, 'defstate.config.mjs'),
    `import { writeFile } from 'node:fs/promises';\nexport default { components: [\n${components.join('\n')}\n] };\n`,
  );
  return folder;
}

const rows = [];
let baseline;
const only = process.env.BENCH_BACKENDS?.split(',');
for (const [name, backend] of Object.entries(BACKENDS)) {
  if (only && !only.includes(name)) continue;
  const emulator = name === 'file' ? undefined : await startEmulator(name);
  const root = await mkdtemp(join(tmpdir(), `defstate-bench-${name}-`));
  try {
    const options = await backend.setup(emulator?.endpoint, root);
    await writeFile(
      join(root, 'defstate.yaml'),
      `state_storage:\n  adapter: ${name}\n  options: ${JSON.stringify(name === 'file' ? options : { ...options, prefix: 'bench' })}\n`,
    );
    const env = {
      PATH: process.env.PATH,
      HOME: root,
      DEFSTATE_HOME: root,
      ...(emulator ? emulatorEnv(name, emulator.endpoint) : {}),
    };
    delete env.STORAGE_EMULATOR_HOST; // the yaml names the endpoint
    console.error(`${name}: refreshing 200 and 1000 components…`);
    const small = await project(root, 'p200', 200, name);
    const refresh = run(['refresh', '--json'], { cwd: small, env });
    const large = await project(root, 'p1000', STATUS_KEYS, name);
    run(['refresh', '--json'], { cwd: large, env });
    run(['status'], { cwd: large, env });
    const status = median(
      Array.from({ length: 5 }, () => run(['status', '--json'], { cwd: large, env }).ms),
    );
    const figures = {
      refresh: refresh.ms,
      writes: JSON.parse(refresh.stdout).stateInfoWrites,
      status,
    };
    baseline ??= figures;
    rows.push([name, figures]);
  } finally {
    await emulator?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

const header = [
  'backend',
  'refresh 200 (ms)',
  'vs file',
  'state-info writes',
  `status ${STATUS_KEYS} keys (ms)`,
  'vs file',
];
const lines = rows.map(([name, f]) => [
  name,
  f.refresh.toFixed(0),
  `${(f.refresh / baseline.refresh).toFixed(2)}×`,
  String(f.writes),
  f.status.toFixed(0),
  `${(f.status / baseline.status).toFixed(2)}×`,
]);
const widths = header.map((_, column) =>
  Math.max(...[header, ...lines].map((line) => line[column].length)),
);
for (const line of [header, widths.map((width) => '-'.repeat(width)), ...lines]) {
  console.log(line.map((cell, column) => cell.padEnd(widths[column])).join('  '));
}
