// `node scripts/bench/backends.mjs`: the refresh engine and `defstate status` on every backend,
// each on its emulator, against the embedded file store measured in the same run. Prints a table.
//   - refresh of 200 versioned components (wall time, state-info document writes);
//   - `defstate status` with 1,000 versioned keys (median of 5; one read of the pointer).
// Needs the CLI and the adapters built and the emulators installed (`pnpm bench` does both).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../../tools/emulators/start.mjs';
import { BACKENDS, instanceHome, projectFolder } from './stores/projects.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));
const STATUS_KEYS = Number(process.env.BENCH_STATUS_KEYS ?? 1000);

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

function project(root, name, count, adapter) {
  const components = Array.from(
    { length: count },
    (_, index) =>
      `  { key: 'component-${index}', management: 'versioned', refresh: ({ statePath }) => writeFile(statePath, 'state ${index} of ${name}') },`,
  );
  return projectFolder(
    join(root, name),
    adapter,
    `import { writeFile } from 'node:fs/promises';\nexport default { components: [\n${components.join('\n')}\n] };\n`,
  );
}

const rows = [];
let baseline;
const only = process.env.BENCH_BACKENDS?.split(',');
for (const name of Object.keys(BACKENDS)) {
  if (only && !only.includes(name)) continue;
  const emulator = name === 'file' ? undefined : await startEmulator(name);
  const root = await mkdtemp(join(tmpdir(), `defstate-bench-${name}-`));
  try {
    const env = await instanceHome(name, emulator, root);
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
