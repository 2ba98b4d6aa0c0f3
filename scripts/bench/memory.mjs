// `pnpm bench memory` (`node scripts/bench/memory.mjs`): memory flat in state size. On each backend
// (the file store, then S3, GCS and Azure Blob on their emulators) one versioned component writes a
// state of BENCH_MEMORY_MIB (1024 by default) and `defstate refresh` stores it; then an app loads it
// with `loadState` from an empty cache. Each is a process of its own, measured by its peak RSS,
// next to the same process moving a 1 MiB state (what the state's size adds) and `node -e 0`.
// Not a test: it prints. `BENCH_BACKENDS=file,s3` runs some.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator } from '../../tools/emulators/start.mjs';
import { printTable, time } from './measure.mjs';
import { BACKENDS, instanceHome, projectFolder } from './stores/projects.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));
const LOAD = pathToFileURL(
  fileURLToPath(new URL('../../packages/core/dist/load.js', import.meta.url)),
).href;
const PEAK_RSS = fileURLToPath(new URL('peak-rss.cjs', import.meta.url));
const MiB = 1024 * 1024;
const SIZES = [1, Number(process.env.BENCH_MEMORY_MIB ?? 1024)];
const TARGET_MIB = 100e6 / MiB; // the aim: 100 MB

/**
 * A component writing `mib` MiB of bytes that do not compress, through one buffer it fills anew
 * for each MiB: it runs in the refresh's process, and a component of its own keeping garbage
 * would be measured with it.
 */
const config = (key, mib) => `import { open } from 'node:fs/promises';
async function write(statePath) {
  const file = await open(statePath, 'w');
  const chunk = Buffer.allocUnsafe(${MiB});
  let counter = ${mib};
  try {
    for (let written = 0; written < ${mib}; written++) {
      for (let offset = 0; offset < chunk.length; offset += 4) {
        counter = (counter * 1103515245 + 12345) >>> 0;
        chunk.writeUInt32LE(counter, offset);
      }
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
}
export default { components: [{ key: ${JSON.stringify(key)}, management: 'versioned',
  refresh: ({ statePath }) => write(statePath) }] };
`;

/**
 * The app: loads the key from an empty cache (loadState checks the download's sha256) and checks
 * that the file holds the whole state.
 */
const app = (project, key, mib) => `import { stat } from 'node:fs/promises';
import { loadState } from ${JSON.stringify(LOAD)};
const state = await loadState(${JSON.stringify(key)}, { projectRoot: ${JSON.stringify(project)} });
const { size } = await stat(state.path);
if (size !== ${mib * MiB}) throw new Error('loaded ' + size + ' bytes');
`;

async function peakOf(args, options, rssFile) {
  const { ms } = time(process.execPath, ['--require', PEAK_RSS, ...args], {
    ...options,
    env: { ...options.env, BENCH_PEAK_RSS_FILE: rssFile },
  });
  return { ms, mib: Number(await readFile(rssFile, 'utf8')) / 1024 };
}

const rows = [];
const scratch = await mkdtemp(join(tmpdir(), 'defstate-bench-memory-'));
const nodeRss = await peakOf(['-e', '0'], { env: process.env }, join(scratch, 'peak'));
rows.push(['node -e 0 (floor)', `${nodeRss.mib.toFixed(0)} MiB`, '', '']);
const only = process.env.BENCH_BACKENDS?.split(',');
for (const name of Object.keys(BACKENDS)) {
  if (only && !only.includes(name)) continue;
  console.error(`${name}: refreshing and loading ${SIZES.join(' and ')} MiB…`);
  const emulator = name === 'file' ? undefined : await startEmulator(name);
  const root = await mkdtemp(join(tmpdir(), `defstate-bench-memory-${name}-`));
  try {
    const env = await instanceHome(name, emulator, root);
    const figures = [];
    for (const mib of SIZES) {
      const key = `memory/${name}-${mib}`;
      const project = await projectFolder(join(root, `p${mib}`), name, config(key, mib));
      const rssFile = join(root, 'peak');
      const refresh = await peakOf([BIN, 'refresh'], { cwd: project, env }, rssFile);
      await writeFile(join(root, 'app.mjs'), app(project, key, mib));
      const load = await peakOf(
        [join(root, 'app.mjs')],
        { cwd: project, env: { ...env, DEFSTATE_CACHE_DIR: join(root, `cache-${mib}`) } },
        rssFile,
      );
      figures.push({ mib, refresh, load });
      // A GiB in the emulator's memory and on this disk is enough at a time.
      await rm(join(root, `cache-${mib}`), { recursive: true, force: true });
    }
    const [small, large] = figures;
    for (const step of ['refresh', 'load']) {
      const grew = large[step].mib - small[step].mib;
      rows.push([
        `${name}: ${step === 'load' ? 'loadState' : 'refresh'} ${large.mib} MiB`,
        `${large[step].mib.toFixed(0)} MiB`,
        `${(large[step].mib / TARGET_MIB).toFixed(2)}× the aim`,
        `${grew >= 0 ? '+' : ''}${grew.toFixed(0)} MiB over ${small.mib} MiB; ${(large[step].ms / 1000).toFixed(1)} s, ${((large.mib / large[step].ms) * 1000).toFixed(0)} MiB/s`,
      ]);
    }
  } finally {
    await emulator?.stop();
    await rm(root, { recursive: true, force: true });
  }
}
await rm(scratch, { recursive: true, force: true });
console.log('');
printTable(rows, ['benchmark', 'peak RSS', 'ratio', 'note']);
console.log(
  `\npeak RSS of each process (getrusage); the aim is 100 MB = ${TARGET_MIB.toFixed(1)} MiB; node ${process.version}`,
);
