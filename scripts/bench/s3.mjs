// `node scripts/bench/s3.mjs`: a 512 MiB state uploaded and downloaded through
// @defstate/storage-s3 and, in the same run, directly with the AWS SDK's own streaming API at its
// defaults (lib-storage `Upload`, `GetObject` body), against moto. Each transfer runs in its own
// child process, so its peak RSS is its own. Not a test: it prints.
// The adapter runs with `checksums: crc32`, as it does against AWS (and as `Upload` declares CRC32
// by default); one more row uploads with checksums off, as with an endpoint of another S3-compatible
// store. moto copies and checksums a whole object at completion when its upload declared none.
// Needs the adapter built (`cd packages/storage-s3 && npx tsc -p tsconfig.build.json`).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './measure.mjs';
import { printTransferTable, writeStateFile } from './transfer.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_S3_MIB ?? 512) * MiB;
const BUCKET = 'bench';
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
const HERE = fileURLToPath(import.meta.url);
const PACKAGE = fileURLToPath(new URL('../../packages/storage-s3/', import.meta.url));
// The SDK as the adapter package resolves it (pnpm keeps it out of the workspace root).
const fromPackage = createRequire(join(PACKAGE, 'package.json'));
const load = (name) => import(pathToFileURL(fromPackage.resolve(name)).href);

async function child([mode, file, name]) {
  const endpoint = process.env.S3_ENDPOINT;
  // Each process loads only what its transfer uses, so the RSS figures compare like with like.
  let transfer;
  if (mode.startsWith('adapter')) {
    const { storageAdapter } = await import(pathToFileURL(join(PACKAGE, 'dist/index.js')).href);
    const checksums = mode.includes('checksums off') ? 'off' : 'crc32';
    const options = {
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      checksums,
    };
    const store = await storageAdapter.create(storageAdapter.optionsSchema.parse(options), {
      baseDir: process.cwd(),
      env: process.env,
    });
    transfer = mode.includes('upload')
      ? () => store.put(name, createReadStream(file), { size: SIZE, ifNoneMatch: '*' })
      : async (hash) => pipeline((await store.get(name)).body, hash);
  } else {
    const { GetObjectCommand, S3Client } = await load('@aws-sdk/client-s3');
    const { Upload } = await load('@aws-sdk/lib-storage');
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
    const params = { Bucket: BUCKET, Key: name };
    transfer = mode.endsWith('upload')
      ? () => new Upload({ client, params: { ...params, Body: createReadStream(file) } }).done()
      : async (hash) => pipeline((await client.send(new GetObjectCommand(params))).Body, hash);
  }
  const hash = createHash('sha256');
  const started = performance.now();
  await transfer(hash);
  const seconds = (performance.now() - started) / 1000;
  const digest = mode.endsWith('download') ? hash.digest('hex') : undefined;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
  process.stdout.write(JSON.stringify({ seconds, maxRssMiB, digest }));
  process.exit(0); // keep-alive sockets would hold the process open
}

async function main() {
  const { emulatorEnv, startEmulator } = await import('../../tools/emulators/start.mjs');
  const emulator = await startEmulator('s3');
  const folder = await mkdtemp(join(tmpdir(), 'defstate-bench-s3-'));
  try {
    // The SDK's notice that it will need Node 22 in 2027 is noise in a table.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const env = { ...process.env, ...emulatorEnv('s3', emulator.endpoint) };
    const { CreateBucketCommand, S3Client } = await load('@aws-sdk/client-s3');
    const setup = new S3Client({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      },
    });
    await setup.send(new CreateBucketCommand({ Bucket: BUCKET }));
    setup.destroy();
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
    // Rounds in alternating order, so that neither always goes first (onto a cold emulator), and
    // the median of each: one transfer of each kind swings by a third on a shared machine.
    const samples = {};
    for (let round = 0; round < ROUNDS; round++) {
      const order = [
        ['adapter-upload', `through-adapter-${round}`],
        ['sdk-upload', `through-sdk-${round}`],
        ['sdk-download', `through-sdk-${round}`],
        ['adapter-download', `through-adapter-${round}`],
        ['adapter-upload, checksums off', `through-adapter-unchecked-${round}`],
      ];
      if (round % 2 === 1)
        [order[0], order[1], order[2], order[3]] = [order[1], order[0], order[3], order[2]];
      for (const [mode, name] of order) {
        samples[mode] ??= [];
        samples[mode].push(run(mode, name));
      }
    }
    const figures = Object.fromEntries(
      Object.entries(samples).map(([mode, runs]) => [
        mode,
        {
          seconds: median(runs.map((run) => run.seconds)),
          maxRssMiB: Math.max(...runs.map((run) => run.maxRssMiB)),
        },
      ]),
    );
    const rate = ({ seconds }) => SIZE / MiB / seconds;
    printTransferTable(
      `S3 on moto ${emulator.endpoint}, node ${process.version}, median of ${ROUNDS} rounds`,
      SIZE / MiB,
      Object.fromEntries(
        Object.entries(figures).map(([mode, run]) => [
          mode,
          { rate: rate(run), rss: run.maxRssMiB },
        ]),
      ),
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
    await emulator.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();
