// `pnpm bench shards`: a refresh sharded across a CI matrix. 2,000 components that each take
// 50 ms, refreshed as one `defstate refresh` and as 8 concurrent `defstate refresh --shard i/8`
// processes (as 8 jobs of a matrix would run them, here on one machine), each on a fresh store.
// Prints the wall time of each against the single run measured in the same run.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable } from './measure.mjs';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/defstate.js', import.meta.url));
const { DEFAULT_CONCURRENCY } = await import(
  new URL('../../packages/core/dist/index.js', import.meta.url).href
);
const COMPONENTS = Number(process.env.BENCH_SHARD_COMPONENTS ?? 2000);
const SHARDS = 8;
const MS = 50;

const root = await mkdtemp(join(tmpdir(), 'defstate-bench-shards-'));
const project = join(root, 'project');
await mkdir(project);
await writeFile(
  join(project, 'defstate.config.mjs'),
  `import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
export default { components: Array.from({ length: ${COMPONENTS} }, (_, index) => ({
  key: 'component-' + index,
  management: 'versioned',
  refresh: async ({ statePath }) => { await sleep(${MS}); await writeFile(statePath, 'state of ' + index); },
})) };
`,
);

/** Runs `defstate <args>` to its end; resolves with its JSON report, rejects on failure. */
function defstate(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout))
        : reject(new Error(`defstate ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`)),
    );
  });
}

let stores = 0;
function environment() {
  stores++;
  return {
    PATH: process.env.PATH,
    HOME: root,
    DEFSTATE_STORAGE_URL: pathToFileURL(join(root, `store-${stores}`)).href,
    DEFSTATE_SHARD_RUN: `bench-${stores}`,
  };
}

async function wallTime(run) {
  const started = process.hrtime.bigint();
  const result = await run();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

const single = await wallTime(() => defstate(['refresh'], environment()));
const sharded = await wallTime(() => {
  const env = environment();
  return Promise.all(
    Array.from({ length: SHARDS }, (_, index) =>
      defstate(['refresh', '--shard', `${index + 1}/${SHARDS}`], env),
    ),
  );
});
await rm(root, { recursive: true, force: true });

// The least the single run could take: every component's 50 ms, DEFAULT_CONCURRENCY at once.
const ideal = (COMPONENTS * MS) / DEFAULT_CONCURRENCY;
const sizes = sharded.result.map((report) => report.shard.keys);
const rows = [
  [
    `refresh ${COMPONENTS} × ${MS} ms, 1 shard (baseline)`,
    `${single.ms.toFixed(0)} ms`,
    '1.00×',
    `${DEFAULT_CONCURRENCY} at once (the default here); ${(ideal / 1000).toFixed(1)} s of waiting alone`,
  ],
  [
    `refresh ${COMPONENTS} × ${MS} ms, ${SHARDS} concurrent shards`,
    `${sharded.ms.toFixed(0)} ms`,
    `${(sharded.ms / single.ms).toFixed(2)}×`,
    `keys per shard ${Math.min(...sizes)}–${Math.max(...sizes)}; ${SHARDS} processes on this machine`,
  ],
];
printTable(rows);
console.log(
  `\nspeed-up ${(single.ms / sharded.ms).toFixed(1)}× with ${SHARDS} shards on one ${process.platform}/${process.arch} machine; on a CI matrix each shard has a runner of its own. node ${process.version}`,
);
