// `pnpm bench guards`: what it costs to run every component inside its guard (an async context
// that names its key, so that an uncaught error, an unhandled rejection or a `process.exit` fails
// that key alone; packages/core/src/refresh/component-guard.ts), against running the same
// attempts bare, and against the isolation the guard stands in for: a worker thread per refresh.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { median, printTable } from './measure.mjs';

const { runGuarded, withComponentGuards } = await import(
  new URL('../../packages/core/dist/refresh/component-guard.js', import.meta.url).href
);

const ATTEMPTS = Number(process.env.BENCH_GUARD_ATTEMPTS ?? 5_000);
const WORKERS = Number(process.env.BENCH_GUARD_WORKERS ?? 100);
const RUNS = 5;
const target = join(tmpdir(), `defstate-bench-guard-${process.pid}`);

// Two components: one that does nothing, which shows the guard's own cost per attempt, and one
// that writes its state, as the refresh benchmarks' components do.
const COMPONENTS = {
  empty: () => () => Promise.resolve(),
  'one write': (index) => () => writeFile(target, `state of ${index}`),
};

async function timed(run) {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const bare = (component) => () =>
  timed(async () => {
    for (let index = 0; index < ATTEMPTS; index++) await Promise.resolve().then(component(index));
  });

const guarded = (component) => () =>
  timed(() =>
    withComponentGuards(async () => {
      for (let index = 0; index < ATTEMPTS; index++) {
        const { result, end } = runGuarded(`component-${index}`, () => {}, component(index));
        await result;
        end();
      }
    }),
  );

// The alternative: each attempt in a worker thread of its own, which isolates it fully.
const inWorkers = () =>
  timed(async () => {
    for (let index = 0; index < WORKERS; index++) {
      const worker = new Worker(
        `require('node:fs').writeFileSync(${JSON.stringify(target)}, 'state of ${index}')`,
        { eval: true },
      );
      await new Promise((resolve, reject) => {
        worker.once('exit', resolve);
        worker.once('error', reject);
      });
    }
  });

async function medianOf(run) {
  await run();
  const times = [];
  for (let index = 0; index < RUNS; index++) times.push(await run());
  return median(times);
}

// Each case runs in a process of its own: once a guard has run, Node keeps async context tracking
// on for the rest of the process, and a bare case measured after it would pay for it too.
const CASES = {
  bare: (name) => bare(COMPONENTS[name]),
  guarded: (name) => guarded(COMPONENTS[name]),
  workers: () => inWorkers,
};
const [, , caseName, componentName] = process.argv;
if (caseName) {
  console.log(String(await medianOf(CASES[caseName](componentName))));
} else {
  const measure = (...args) => {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`guards ${args.join(' ')}: ${child.stderr}`);
    return Number(child.stdout.trim());
  };
  const each = (ms, count) => `${((ms * 1000) / count).toFixed(2)} µs/attempt`;
  const rows = [];
  let writeEach = 0;
  for (const name of Object.keys(COMPONENTS)) {
    const bareMs = measure('bare', name);
    const guardedMs = measure('guarded', name);
    writeEach = bareMs / ATTEMPTS;
    rows.push(
      [
        `${ATTEMPTS} × ${name}, bare (baseline)`,
        `${bareMs.toFixed(1)} ms`,
        '1.00×',
        each(bareMs, ATTEMPTS),
      ],
      [
        `${ATTEMPTS} × ${name}, guarded`,
        `${guardedMs.toFixed(1)} ms`,
        `${(guardedMs / bareMs).toFixed(2)}×`,
        `${each(guardedMs, ATTEMPTS)}, +${each(guardedMs - bareMs, ATTEMPTS)}`,
      ],
    );
  }
  const workerMs = measure('workers');
  rows.push([
    `${WORKERS} × one write, a worker thread each`,
    `${workerMs.toFixed(1)} ms`,
    `${(workerMs / WORKERS / writeEach).toFixed(0)}×`,
    `${each(workerMs, WORKERS)}; per attempt, vs one write bare`,
  ]);
  printTable(rows);
  console.log(
    `\nmedian of ${RUNS} runs, each case in its own process; node ${process.version}, ${process.platform}/${process.arch}`,
  );
}
