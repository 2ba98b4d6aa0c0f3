// `node scripts/bench/gcs.mjs`: a 512 MiB state through the GCS adapter against the same transfer
// done directly with @google-cloud/storage (createWriteStream / createReadStream, default settings),
// both on fake-gcs-server in the same run. Each transfer runs in its own process, so each peak RSS
// (process.resourceUsage().maxRSS at its end) is that transfer's alone. Not a test: it prints.
// Needs the built adapter (`pnpm -w turbo run build --filter=@defstate/storage-gcs`).
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator } from '../../tools/emulators/start.mjs';

const SIZE = Number(process.env.BENCH_GCS_MIB ?? 512) * 1024 * 1024;
const BUCKET = 'defstate-bench';
// Resolved the way a project that installed the adapter resolves it.
const fromPackage = createRequire(
  fileURLToPath(new URL('../../packages/storage-gcs/package.json', import.meta.url)),
);
const ADAPTER = pathToFileURL(fromPackage.resolve('@defstate/storage-gcs')).href;
const SDK = pathToFileURL(fromPackage.resolve('@google-cloud/storage')).href;

// One transfer, run as `node --input-type=module -e`; argv: endpoint, file, object name.
const PRELUDE = `
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
const [endpoint, file, name] = process.argv.slice(1);
const discard = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });
const started = performance.now();
const done = () => process.stdout.write(JSON.stringify({
  ms: performance.now() - started, maxRssKiB: process.resourceUsage().maxRSS }));
`;
const ADAPTER_STORE = `
const { createGcsStore } = await import(${JSON.stringify(ADAPTER)});
const store = await createGcsStore({ bucket: ${JSON.stringify(BUCKET)}, apiEndpoint: endpoint, projectId: 'bench' });
`;
const SDK_FILE = `
const { Storage } = await import(${JSON.stringify(SDK)});
const object = new Storage({ apiEndpoint: endpoint, projectId: 'bench' }).bucket(${JSON.stringify(BUCKET)}).file(name);
`;
const TRANSFERS = {
  'adapter upload': `${ADAPTER_STORE}
await store.put(name, createReadStream(file), { ifNoneMatch: '*', size: ${SIZE} }); done();`,
  'sdk upload': `${SDK_FILE}
await pipeline(createReadStream(file), object.createWriteStream()); done();`,
  'adapter download': `${ADAPTER_STORE}
await pipeline((await store.get(name)).body, discard()); done();`,
  'sdk download': `${SDK_FILE}
await pipeline(object.createReadStream(), discard()); done();`,
};

function run(label, endpoint, file, name) {
  const stdout = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', PRELUDE + TRANSFERS[label], endpoint, file, name],
    { encoding: 'utf8', maxBuffer: 1024 * 1024 },
  );
  const { ms, maxRssKiB } = JSON.parse(stdout);
  return { label, mbps: SIZE / 1e6 / (ms / 1000), rssMiB: maxRssKiB / 1024 };
}

/** A state file of random bytes (incompressible, like most real state). */
async function makeState(path) {
  async function* chunks() {
    for (let written = 0; written < SIZE; written += 1024 * 1024) {
      yield randomFillSync(Buffer.allocUnsafe(Math.min(1024 * 1024, SIZE - written)));
    }
  }
  await pipeline(chunks(), createWriteStream(path));
  execFileSync('sync'); // so write-back does not compete with the first transfer
}

const folder = await mkdtemp(join(tmpdir(), 'defstate-bench-gcs-'));
const emulator = await startEmulator('gcs');
try {
  const created = await fetch(`${emulator.endpoint}/storage/v1/b?project=bench`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: BUCKET }),
  });
  if (!created.ok) throw new Error(`cannot create bucket: ${created.status}`);
  const file = join(folder, 'state');
  await makeState(file);
  // Each transfer twice, in ABBA order, keeping the faster run: the first transfers of a run pay
  // for the emulator's warm-up and the state file's write-back, and that should not pick a winner.
  const best = (label, name, order) => {
    const runs = order.map((index) => run(label, emulator.endpoint, file, `${name}-${index}`));
    return runs.reduce((a, b) => (b.mbps > a.mbps ? b : a));
  };
  const sdkUp1 = run('sdk upload', emulator.endpoint, file, 'bench/sdk-1');
  const adapterUp = best('adapter upload', 'bench/adapter', [1, 2]);
  const sdkUp2 = run('sdk upload', emulator.endpoint, file, 'bench/sdk-2');
  const up = [adapterUp, sdkUp1.mbps > sdkUp2.mbps ? sdkUp1 : sdkUp2];
  const sdkDown1 = run('sdk download', emulator.endpoint, file, 'bench/sdk-1');
  const adapterDown = best('adapter download', 'bench/adapter', [1, 2]);
  const sdkDown2 = run('sdk download', emulator.endpoint, file, 'bench/sdk-2');
  const down = [adapterDown, sdkDown1.mbps > sdkDown2.mbps ? sdkDown1 : sdkDown2];

  console.log(`GCS adapter vs @google-cloud/storage, ${SIZE / 1024 / 1024} MiB, fake-gcs-server`);
  console.log('transfer (best of 2)  MB/s    peak RSS (MiB)');
  for (const row of [...up, ...down]) {
    console.log(
      `${row.label.padEnd(20)} ${row.mbps.toFixed(1).padStart(6)}  ${row.rssMiB.toFixed(0).padStart(8)}`,
    );
  }
  const ratio = (pair) => (pair[0].mbps / pair[1].mbps).toFixed(2);
  console.log(`adapter/SDK throughput: upload ${ratio(up)}, download ${ratio(down)} (aim ≥ 0.9)`);
} finally {
  await emulator.stop();
  await rm(folder, { recursive: true, force: true });
}
