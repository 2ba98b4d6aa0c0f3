// `pnpm bench scale`: the CLI at 10,000 keys. A refresh of 10,000 trivial versioned components at
// concurrency 32 (wall time and peak RSS, against writing the same 10,000 files by hand), then
// `status --json` and `status` over them, against `node -e 0`. Not a test: it prints.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baselineWrites, durableWrites, median, medianOf, printTable, time } from './measure.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));
const PEAK_RSS = fileURLToPath(new URL('peak-rss.cjs', import.meta.url));
const KEYS = Number(process.env.BENCH_SCALE_KEYS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const root = await mkdtemp(join(tmpdir(), 'defstate-bench-scale-'));
const project = join(root, 'project');
await mkdir(project);
// A config that builds its components in a loop, as a project of this size would.
await writeFile(
  join(project, 'defstate.config.mjs'),
  `import { writeFile } from 'node:fs/promises';
export default {
  components: Array.from({ length: ${KEYS} }, (_, index) => ({
    key: \`component-\${index}\`,
    management: 'versioned',
    refresh: ({ statePath }) => writeFile(statePath, \`state of \${index}\`),
  })),
};
`,
);
const rssFile = join(root, 'peak-rss');
// Ten thousand keys print megabytes; spawnSync's default buffer (1 MiB) would end the child.
const maxBuffer = 512 * 1024 * 1024;
const env = {
  PATH: process.env.PATH,
  HOME: root,
  XDG_STATE_HOME: join(root, 'state'),
  XDG_CACHE_HOME: join(root, 'cache'),
  BENCH_PEAK_RSS_FILE: rssFile,
};

const cli = (args) => ['--require', PEAK_RSS, BIN, ...args];
const peakMiB = async () => Number(await readFile(rssFile, 'utf8')) / 1024;

const nodeStart = medianOf(process.execPath, ['-e', '0'], {}, RUNS);
const writes = median([
  await baselineWrites(KEYS),
  await baselineWrites(KEYS),
  await baselineWrites(KEYS),
]);
const durable = median([
  await durableWrites(KEYS),
  await durableWrites(KEYS),
  await durableWrites(KEYS),
]);
const floor = nodeStart + writes;
const refresh = time(process.execPath, cli(['refresh', '--concurrency', '32', '--json']), {
  cwd: project,
  env,
  maxBuffer,
});
const refreshPeak = await peakMiB();
const statusJson = medianOf(
  process.execPath,
  cli(['status', '--json']),
  { cwd: project, env, maxBuffer },
  RUNS,
);
const statusJsonPeak = await peakMiB();
const statusTable = medianOf(
  process.execPath,
  cli(['status']),
  { cwd: project, env, maxBuffer },
  RUNS,
);

const ms = (value) => `${value.toFixed(1)} ms`;
const ratio = (value, baseline) => `${(value / baseline).toFixed(2)}×`;
printTable([
  ['node -e 0 (baseline)', ms(nodeStart), '1.00×', `median of ${RUNS}`],
  [`write+rename ${KEYS} files (baseline)`, ms(writes), '1.00×', 'in-process loop'],
  [
    `write+fsync+rename ${KEYS} files`,
    ms(durable),
    ratio(durable, writes),
    'vs the baseline writes; what flushing alone costs',
  ],
  [
    `refresh ${KEYS} versioned, concurrency 32`,
    ms(refresh.ms),
    ratio(refresh.ms, floor),
    `vs node -e 0 + writes; peak RSS ${refreshPeak.toFixed(0)} MiB`,
  ],
  [
    `status --json, ${KEYS} keys`,
    ms(statusJson),
    ratio(statusJson, nodeStart),
    `vs node -e 0; peak RSS ${statusJsonPeak.toFixed(0)} MiB`,
  ],
  [`status, ${KEYS} keys`, ms(statusTable), ratio(statusTable, nodeStart), 'vs node -e 0'],
]);
console.log(`\nnode ${process.version}, ${process.platform}/${process.arch}`);
await rm(root, { recursive: true, force: true });
