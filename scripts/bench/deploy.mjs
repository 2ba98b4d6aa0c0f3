// `pnpm bench deploy`: what the deploy flow costs. An app's start-up loading 100 keys, in each way
// `loadState` can find them, against a Node process that reads the same 100 files directly; and
// `deploy`, `pull` and `verify` against a plain `refresh` of the same project. Prints ratios
// against baselines measured in the same run.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { medianOf as medianOfRuns, printTable, time } from './measure.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));
// What an app imports to load its state: the loader's own entry point, `@defstate/core/load`.
const distUrl = (file) =>
  pathToFileURL(fileURLToPath(new URL(`../../packages/core/dist/${file}`, import.meta.url))).href;
const CORE = distUrl('load.js');
const CORE_MAIN = distUrl('index.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const KEYS = 100;
const STATE_BYTES = 64 * 1024;

const medianOf = (args, options) => medianOfRuns(process.execPath, args, options, RUNS);

const root = await mkdtemp(join(tmpdir(), 'defstate-bench-deploy-'));
const project = join(root, 'project');
await mkdir(project);
const keys = Array.from({ length: KEYS }, (_, index) => `catalog/part-${index}`);
await writeFile(
  join(project, 'defstate.config.mjs'),
  `import { writeFile } from 'node:fs/promises';
const body = (key) => (key + '\\n').repeat(Math.ceil(${STATE_BYTES} / (key.length + 1))).slice(0, ${STATE_BYTES});
export default { components: ${JSON.stringify(keys)}.map((key) => ({
  key, management: 'versioned', refresh: ({ statePath }) => writeFile(statePath, body(key)),
})) };
`,
);
const env = {
  PATH: process.env.PATH,
  HOME: root,
  DEFSTATE_STORAGE_URL: pathToFileURL(join(root, 'store')).href,
  DEFSTATE_CACHE_DIR: join(root, 'cache'),
};
const cli = (args) => ({ args: [BIN, ...args], options: { cwd: project, env } });

// The app: loads every key, then reads every state file, as an app building definitions would.
const app = (call, core = CORE) => `
import { readFile } from 'node:fs/promises';
import { loadState, loadStates } from ${JSON.stringify(core)};
const keys = ${JSON.stringify(keys)};
const options = { projectRoot: ${JSON.stringify(project)}, ignorePins: process.env.IGNORE_PINS === '1' };
const loaded = ${call};
let bytes = 0;
for (const state of loaded) bytes += (await readFile(state.path)).length;
if (bytes !== ${KEYS * STATE_BYTES}) throw new Error('read ' + bytes + ' bytes');
`;
await writeFile(join(root, 'app-batch.mjs'), app('await loadStates(keys, options)'));
await writeFile(
  join(root, 'app-batch-main.mjs'),
  app('await loadStates(keys, options)', CORE_MAIN),
);
await writeFile(
  join(root, 'app-each.mjs'),
  app('await Promise.all(keys.map((key) => loadState(key, options)))'),
);

const rows = [];
const row = (what, ms, baseline, note) =>
  rows.push([what, `${ms.toFixed(1)} ms`, `${(ms / baseline).toFixed(2)}×`, note]);

// 1. The CLI side, against a plain refresh that finds nothing changed.
time(process.execPath, cli(['refresh']).args, cli(['refresh']).options); // first: uploads all
const refresh = medianOf(cli(['refresh']).args, cli(['refresh']).options);
rows.push(['refresh, unchanged (baseline)', `${refresh.toFixed(1)} ms`, '1.00×', `${KEYS} keys`]);
row('deploy (refresh + pin)', medianOf(cli(['deploy']).args, cli(['deploy']).options), refresh, '');
row('pin (no refresh)', medianOf(cli(['pin']).args, cli(['pin']).options), refresh, '');
row('verify', medianOf(cli(['verify']).args, cli(['verify']).options), refresh, 'size check');
row(
  'verify --deep',
  medianOf(cli(['verify', '--deep']).args, cli(['verify', '--deep']).options),
  refresh,
  `downloads ${((KEYS * STATE_BYTES) / 2 ** 20).toFixed(1)} MiB`,
);
row('pull, already pulled', medianOf(cli(['pull']).args, cli(['pull']).options), refresh, '');

// 2. Start-up, against a Node process reading the same files by path.
await writeFile(
  join(root, 'baseline.mjs'),
  `import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
const root = ${JSON.stringify(join(project, '.local_defs_state', '.pulled'))};
let bytes = 0;
for (const folder of await readdir(root)) for (const file of await readdir(join(root, folder))) bytes += (await readFile(join(root, folder, file))).length;
if (bytes !== ${KEYS * STATE_BYTES}) throw new Error('read ' + bytes);
`,
);
const base = medianOf([join(root, 'baseline.mjs')], { env });
rows.push([
  `read ${KEYS} files directly (baseline)`,
  `${base.toFixed(1)} ms`,
  '1.00×',
  'node + readFile',
]);
const pulled = medianOf([join(root, 'app-batch.mjs')], {
  env: { ...env, DEFSTATE_STORAGE_URL: 's3://unreachable/x?endpoint=http://127.0.0.1:9' },
});
row('loadStates, pinned and pulled', pulled, base, 'no store access at all');
row(
  '  the same through @defstate/core',
  medianOf([join(root, 'app-batch-main.mjs')], {
    env: { ...env, DEFSTATE_STORAGE_URL: 's3://unreachable/x?endpoint=http://127.0.0.1:9' },
  }),
  base,
  'the whole toolkit imported',
);
await rm(join(project, '.local_defs_state', '.pulled'), { recursive: true, force: true });
row(
  'loadStates, pinned, cached',
  medianOf([join(root, 'app-batch.mjs')], { env }),
  base,
  'no pointer read',
);
row(
  'loadStates, latest, cached',
  medianOf([join(root, 'app-batch.mjs')], { env: { ...env, IGNORE_PINS: '1' } }),
  base,
  'one pointer read',
);
row(
  'loadState per key, latest, cached',
  medianOf([join(root, 'app-each.mjs')], { env: { ...env, IGNORE_PINS: '1' } }),
  base,
  `${KEYS} pointer reads`,
);

await rm(root, { recursive: true, force: true });
printTable(rows);
console.log(
  `\n${KEYS} versioned keys of ${STATE_BYTES / 1024} KiB on the file store; median of ${RUNS}; node ${process.version}`,
);
