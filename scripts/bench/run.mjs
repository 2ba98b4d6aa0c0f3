// `pnpm bench`: measures the CLI's start-up and the refresh engine, and prints each figure as a
// ratio against a baseline measured in the same run on the same machine. Not a test: it prints.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  baselineWrites,
  durableWrites,
  median,
  medianOf as medianOfRuns,
  printTable,
  time,
} from './measure.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));
const CORE = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const medianOf = (command, args, options) => medianOfRuns(command, args, options, RUNS);

/** A project with `count` trivial components, and an environment whose default store is its own. */
async function makeProject(count, management) {
  const root = await mkdtemp(join(tmpdir(), 'defstate-bench-'));
  const project = join(root, 'project');
  await mkdir(project);
  const entries = Array.from(
    { length: count },
    (_, index) =>
      `  { key: 'component-${index}', management: ${JSON.stringify(typeof management === 'function' ? management(index) : management)}, refresh: ({ statePath }) => writeFile(statePath, 'state of ${index}') },`,
  );
  await writeFile(
    join(project, 'defstate.config.mjs'),
    `import { writeFile } from 'node:fs/promises';\nexport default { components: [\n${entries.join('\n')}\n] };\n`,
  );
  const env = {
    PATH: process.env.PATH,
    HOME: root,
    XDG_STATE_HOME: join(root, 'state'),
    XDG_CACHE_HOME: join(root, 'cache'),
  };
  return { root, project, env };
}

const rows = [];
const row = (what, value, baseline, note = '') =>
  rows.push([what, `${value.toFixed(1)} ms`, `${(value / baseline).toFixed(2)}×`, note]);

// 1. Start-up, against `node -e 0`.
const nodeStart = medianOf(process.execPath, ['-e', '0']);
rows.push(['node -e 0 (baseline)', `${nodeStart.toFixed(1)} ms`, '1.00×', `median of ${RUNS}`]);
row('defstate --help', medianOf(process.execPath, [BIN, '--help']), nodeStart, 'vs node -e 0');
// What every command but --help imports first: core, and zod with it.
const importOf = (url) => ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`];
row(
  'import @defstate/core',
  medianOf(process.execPath, importOf(pathToFileURL(CORE).href)),
  nodeStart,
  'vs node -e 0; zod included',
);
row(
  'import zod',
  // Resolved from core's folder, as core resolves it.
  medianOf(process.execPath, importOf('zod'), { cwd: dirname(dirname(CORE)) }),
  nodeStart,
  'vs node -e 0; the part of the above that is zod',
);
{
  const { root, project, env } = await makeProject(20, (index) =>
    index % 2 ? 'local' : 'versioned',
  );
  time(process.execPath, [BIN, 'refresh'], { cwd: project, env });
  row(
    'defstate status (20 keys)',
    medianOf(process.execPath, [BIN, 'status'], { cwd: project, env }),
    nodeStart,
    'vs node -e 0',
  );
  await rm(root, { recursive: true, force: true });
}

// 2. Refresh of 500 trivial components, against writing 500 files by hand.
const COUNT = 500;
// One after another: three loops at once would share the disk and make the floor look higher.
const baseline = median([
  await baselineWrites(COUNT),
  await baselineWrites(COUNT),
  await baselineWrites(COUNT),
]);
rows.push([
  `write+rename ${COUNT} files (baseline)`,
  `${baseline.toFixed(1)} ms`,
  '1.00×',
  'in-process loop',
]);
const durable = median([
  await durableWrites(COUNT),
  await durableWrites(COUNT),
  await durableWrites(COUNT),
]);
rows.push([
  `write+fsync+rename ${COUNT} files`,
  `${durable.toFixed(1)} ms`,
  `${(durable / baseline).toFixed(2)}×`,
  'vs the baseline writes; what flushing alone costs',
]);
const nodeAndBaseline = nodeStart + baseline;
for (const management of ['local', 'versioned']) {
  const { root, project, env } = await makeProject(COUNT, management);
  const first = time(process.execPath, [BIN, 'refresh', '--json'], { cwd: project, env });
  const second = time(process.execPath, [BIN, 'refresh', '--json'], { cwd: project, env });
  const writes = (run) => JSON.parse(run.stdout).stateInfoWrites;
  row(
    `refresh ${COUNT} ${management}, first run`,
    first.ms,
    nodeAndBaseline,
    `state-info writes: ${writes(first)}`,
  );
  row(
    `refresh ${COUNT} ${management}, unchanged`,
    second.ms,
    nodeAndBaseline,
    `state-info writes: ${writes(second)}`,
  );
  await rm(root, { recursive: true, force: true });
}

printTable(rows);
console.log(
  `\nrefresh ratios are against (node -e 0) + (baseline writes) = ${nodeAndBaseline.toFixed(1)} ms; node ${process.version}, ${process.platform}/${process.arch}`,
);
