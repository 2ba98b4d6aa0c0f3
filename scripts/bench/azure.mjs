// `node scripts/bench/azure.mjs`: a 512 MiB state uploaded and downloaded through
// @defstate/storage-azure and, in the same run, directly with @azure/storage-blob's own streaming
// helpers at their defaults (uploadStream, download().readableStreamBody), against Azurite.
// Each transfer runs in its own child process, so its peak RSS is its own. Not a test: it prints.
// Needs the adapter built (`pnpm -w turbo run build --filter=@defstate/storage-azure`).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTransferTable, writeStateFile } from './transfer.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_AZURE_MIB ?? 512) * MiB;
const ROUNDS = Number(process.env.BENCH_AZURE_ROUNDS ?? 3);
const CONTAINER = 'bench';
const HERE = fileURLToPath(import.meta.url);
const PACKAGE = fileURLToPath(new URL('../../packages/storage-azure/', import.meta.url));
// The SDK as the adapter package resolves it (pnpm keeps it out of the workspace root).
const SDK = pathToFileURL(
  join(realpathSync(join(PACKAGE, 'node_modules/@azure/storage-blob')), 'dist/esm/index.js'),
).href;

async function child([mode, file, name]) {
  const { BlobServiceClient } = await import(SDK);
  const { storageAdapter } = await import(pathToFileURL(join(PACKAGE, 'dist/index.js')).href);
  const env = process.env;
  const store = await storageAdapter.create(
    storageAdapter.optionsSchema.parse({
      container: CONTAINER,
      accountUrl: env.AZURE_STORAGE_BLOB_ENDPOINT,
    }),
    { baseDir: process.cwd(), env },
  );
  const blob = BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING)
    .getContainerClient(CONTAINER)
    .getBlockBlobClient(name);
  const hash = createHash('sha256');
  const started = performance.now();
  if (mode === 'adapter-upload') {
    await store.put(name, createReadStream(file), { size: SIZE, ifNoneMatch: '*' });
  } else if (mode === 'sdk-upload') {
    await blob.uploadStream(createReadStream(file));
  } else if (mode === 'adapter-download') {
    await pipeline((await store.get(name)).body, hash);
  } else {
    await pipeline((await blob.download()).readableStreamBody, hash);
  }
  const seconds = (performance.now() - started) / 1000;
  const digest = mode.endsWith('download') ? hash.digest('hex') : undefined;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
  process.stdout.write(JSON.stringify({ seconds, maxRssMiB, digest }));
}

async function main() {
  const { emulatorEnv, startEmulator } = await import('../../tools/emulators/start.mjs');
  const emulator = await startEmulator('azure');
  const folder = await mkdtemp(join(tmpdir(), 'defstate-bench-azure-'));
  try {
    const env = { ...process.env, ...emulatorEnv('azure', emulator.endpoint) };
    const { BlobServiceClient } = await import(SDK);
    await BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING)
      .getContainerClient(CONTAINER)
      .create();
    const file = join(folder, 'state');
    const sha256 = await writeStateFile(file, SIZE);
    const run = (mode, name) => {
      const out = execFileSync(process.execPath, [HERE, '--child', mode, file, name], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const result = JSON.parse(out.toString());
      if (result.digest && result.digest !== sha256) throw new Error(`${mode}: sha256 mismatch`);
      return result;
    };
    // Alternate adapter and SDK, round after round, so that neither always meets a warmer (or
    // busier) emulator; report each one's median rate and its highest peak RSS.
    const runs = {
      'adapter-upload': [],
      'sdk-upload': [],
      'adapter-download': [],
      'sdk-download': [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['adapter', 'sdk'] : ['sdk', 'adapter'];
      for (const direction of ['upload', 'download']) {
        for (const via of order) {
          runs[`${via}-${direction}`].push(run(`${via}-${direction}`, `${via}-${round}`));
        }
      }
    }
    const rate = ({ seconds }) => SIZE / MiB / seconds;
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const summary = (mode) => ({
      rate: median(runs[mode].map(rate)),
      rss: Math.max(...runs[mode].map((result) => result.maxRssMiB)),
    });
    const figures = Object.fromEntries(Object.keys(runs).map((mode) => [mode, summary(mode)]));
    printTransferTable(
      `Azure Blob on Azurite ${emulator.endpoint}, node ${process.version}, median of ${ROUNDS} rounds`,
      SIZE / MiB,
      figures,
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
    await emulator.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();
