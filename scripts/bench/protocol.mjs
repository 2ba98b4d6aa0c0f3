// `node scripts/bench/protocol.mjs`: what the versioned protocol costs as stores and writer counts
// grow. Prints three tables:
//   1. `status` over 10,000 keys: objects read and bytes read, against the bound (one read per
//      pointer shard, plus the layout) measured in the same run;
//   2. pointer traffic of 40 concurrent jobs refreshing 500 keys each of a 5,000-key store, against
//      its floor: each job reading and writing once every shard it touches;
//   3. the many-writer run of the conformance kit (32 processes × (50 own + 5 shared keys) ×
//      2 rounds) on each backend: its wall time, and whether every key committed.
// Set BENCH_PROTOCOL to a comma list (status, traffic, torture) to run some, and BENCH_BACKENDS
// (file, s3, gcs, azure) to choose the torture's stores.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  readStatus,
  updatePointer,
} from '../../packages/core/dist/index.js';
import { startRateLimitProxy } from '../../tools/emulators/rate-limit-proxy.mjs';
import { emulatorEnv, startEmulator } from '../../tools/emulators/start.mjs';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('.', import.meta.url));
const only = process.env.BENCH_PROTOCOL?.split(',');
const MiB = 1024 * 1024;

function table(header, rows) {
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => String(row[column]).length)),
  );
  for (const row of [header, widths.map((width) => '-'.repeat(width)), ...rows]) {
    console.log(
      row
        .map((cell, column) => String(cell).padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    );
  }
}

/** A store of `count` keys, written straight into the pointer (the benchmark is not about uploads). */
async function storeOfKeys(folder, count) {
  const store = new FileBlobStore(folder);
  const changes = Array.from({ length: count }, (_, index) => {
    const key = `source-${index}`;
    const info = {
      key,
      management: 'versioned',
      version: `20261201T000000000Z-${String(index).padStart(12, '0')}`,
      createdAt: '2026-12-01T00:00:00.000Z',
      sha256: 'a'.repeat(64),
      size: 100,
    };
    return { key, decide: () => ({ action: 'set', info, result: undefined }) };
  });
  const settled = await updatePointer(store, changes);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return store;
}

async function statusReads() {
  const root = await mkdtemp(join(tmpdir(), 'defstate-bench-status-'));
  try {
    const keys = 10_000;
    const store = await storeOfKeys(join(root, 'store'), keys);
    const calls = { gets: 0, bytes: 0 };
    const counted = Object.assign(Object.create(null), {
      adapter: store.adapter,
      location: store.location,
      endpoint: store.endpoint,
      capabilities: store.capabilities,
      head: (...args) => store.head(...args),
      list: (...args) => store.list(...args),
      put: (...args) => store.put(...args),
      delete: (...args) => store.delete(...args),
      async get(name, options) {
        calls.gets++;
        const result = await store.get(name, options);
        calls.bytes += result.size;
        return result;
      },
    });
    const components = Array.from({ length: keys }, (_, index) => ({
      key: `source-${index}`,
      management: 'versioned',
      refresh: () => {},
    }));
    const started = performance.now();
    const status = await readStatus(
      { root, configFile: join(root, 'defstate.config.mjs'), components },
      { openStore: async () => counted },
    );
    const ms = performance.now() - started;
    if (status.keys.some((key) => !key.info)) throw new Error('status missed a key');
    const bound = DEFAULT_POINTER_SHARDS + 1;
    console.log(`\n-- status over ${keys.toLocaleString('en')} versioned keys (file store)`);
    table(
      ['objects read', 'bound (shards + layout)', 'ratio', 'bytes read', 'time'],
      [
        [
          calls.gets,
          bound,
          `${(calls.gets / bound).toFixed(2)}×`,
          `${(calls.bytes / MiB).toFixed(2)} MiB`,
          `${ms.toFixed(0)} ms`,
        ],
      ],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Layout 1's store of `count` keys: one state-info.json holding every entry. */
async function singleDocumentStore(folder, count) {
  const store = new FileBlobStore(folder);
  const keys = {};
  for (let index = 0; index < count; index++) {
    keys[`source-${index}`] = {
      key: `source-${index}`,
      management: 'versioned',
      version: `20261201T000000000Z-${String(index).padStart(12, '0')}`,
      createdAt: '2026-12-01T00:00:00.000Z',
      sha256: 'a'.repeat(64),
      size: 100,
    };
  }
  const document = { schemaVersion: 1, updatedAt: new Date().toISOString(), keys };
  await store.put('state-info.json', `${JSON.stringify(document, null, 2)}\n`);
  return store;
}

async function pointerTraffic() {
  const total = 5_000;
  const jobs = 40;
  const perJob = 500;
  const variants = [
    ['layout 1: one document, pointer only', 'single-document', singleDocumentStore],
    ['layout 2: 32 shards, pointer only', 'pointer', storeOfKeys],
    ['layout 2: the refresh engine', 'refresh', storeOfKeys],
  ];
  const rows = [];
  let baseline;
  for (const [label, mode, seed] of variants) {
    const root = await mkdtemp(join(tmpdir(), 'defstate-bench-traffic-'));
    try {
      const folder = join(root, 'store');
      await seed(folder, total);
      const go = join(root, 'go');
      const started = performance.now();
      const running = Array.from({ length: jobs }, (_, job) =>
        run(
          process.execPath,
          [
            join(HERE, 'protocol-worker.mjs'),
            mode,
            folder,
            String(job * perJob),
            String(perJob),
            String(total),
            go,
          ],
          { maxBuffer: 16 * MiB },
        ),
      );
      await writeFile(go, '');
      const outputs = (await Promise.all(running)).map(({ stdout }) => JSON.parse(stdout));
      const seconds = (performance.now() - started) / 1000;
      const sum = (field) => outputs.reduce((all, output) => all + output[field], 0);
      const bytes = sum('read') + sum('written');
      baseline ??= bytes;
      rows.push([
        label,
        (bytes / MiB).toFixed(1),
        `${(bytes / baseline).toFixed(2)}×`,
        sum('reads'),
        sum('writes'),
        sum('failed'),
        `${seconds.toFixed(1)} s`,
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  console.log(
    `\n-- ${jobs} concurrent jobs × ${perJob} keys of a ${total.toLocaleString('en')}-key store (file store; pointer only: 4 batches a job)`,
  );
  table(
    ['variant', 'pointer MiB moved', 'vs layout 1', 'reads', 'writes', 'failed keys', 'wall time'],
    rows,
  );
}

const BACKENDS = {
  file: async (root) => ({ env: { BENCH_FILE_ROOT: root }, stop: async () => {} }),
  s3: async () => {
    const emulator = await startEmulator('s3');
    await fetch(`${emulator.endpoint}/bench`, { method: 'PUT' });
    return {
      env: {
        ...emulatorEnv('s3', emulator.endpoint),
        BENCH_ENDPOINT: emulator.endpoint,
        BENCH_BUCKET: 'bench',
      },
      stop: () => emulator.stop(),
    };
  },
  gcs: async (_root, { limited } = {}) => {
    const emulator = await startEmulator('gcs');
    await fetch(`${emulator.endpoint}/storage/v1/b?project=bench`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    });
    const proxy = limited ? await startRateLimitProxy(emulator.endpoint) : undefined;
    return {
      env: { BENCH_ENDPOINT: proxy?.endpoint ?? emulator.endpoint, BENCH_BUCKET: 'bench' },
      stop: async () => {
        await proxy?.stop();
        await emulator.stop();
      },
    };
  },
  azure: async () => {
    const emulator = await startEmulator('azure');
    const env = emulatorEnv('azure', emulator.endpoint);
    const { BlobServiceClient } = await import(
      '../../packages/storage-azure/node_modules/@azure/storage-blob/dist/esm/index.js'
    );
    await BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING)
      .getContainerClient('bench')
      .create();
    return { env: { ...env, BENCH_BUCKET: 'bench' }, stop: () => emulator.stop() };
  },
};

async function torture() {
  const processes = 32;
  const plan = (index) => ({
    own: Array.from({ length: 50 }, (_, key) => `own/${index}/${key}`),
    shared: Array.from({ length: 5 }, (_, key) => `shared/${key}`),
    rounds: 2,
  });
  const worker = fileURLToPath(
    new URL('../../packages/adapter-testkit/dist/worker.js', import.meta.url),
  );
  const chosen = process.env.BENCH_BACKENDS?.split(',') ?? [
    'file',
    's3',
    'gcs',
    'gcs-limited',
    'azure',
  ];
  const rows = [];
  for (const name of chosen) {
    const backend = BACKENDS[name.replace('-limited', '')];
    const root = await mkdtemp(join(tmpdir(), `defstate-bench-torture-${name}-`));
    const started = await backend(root, { limited: name.endsWith('-limited') });
    try {
      const module = join(HERE, 'stores', `${name.replace('-limited', '')}.mjs`);
      const go = join(root, 'go');
      const env = { ...process.env, ...started.env };
      const clock = performance.now();
      const running = Array.from({ length: processes }, (_, index) =>
        run(
          process.execPath,
          [worker, module, `torture-${Date.now()}`, JSON.stringify(plan(index)), go],
          {
            env,
            maxBuffer: 64 * MiB,
          },
        ),
      );
      // Every process is waiting for the go file before it is written: they start together.
      await writeFile(go, '');
      const results = (await Promise.all(running)).flatMap(({ stdout }) =>
        JSON.parse(stdout).rounds.flat(),
      );
      const seconds = (performance.now() - clock) / 1000;
      const refreshed = results.filter((result) => result.status === 'refreshed').length;
      rows.push([
        name,
        `${seconds.toFixed(1)} s`,
        `${refreshed} / ${results.length}`,
        `${(results.length / seconds).toFixed(0)}/s`,
      ]);
    } finally {
      await started.stop();
      await rm(root, { recursive: true, force: true });
    }
  }
  console.log(`\n-- ${processes} processes × (50 own + 5 shared keys) × 2 rounds, all at once`);
  table(['store', 'wall time', 'refreshed', 'refreshes'], rows);
}

if (!only || only.includes('status')) await statusReads();
if (!only || only.includes('traffic')) await pointerTraffic();
if (!only || only.includes('torture')) await torture();
