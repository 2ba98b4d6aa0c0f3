// What the benchmarks share: timing a child process, the median of repeated runs, the floor of a
// refresh, and printing a table of figures.
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a command to its end and returns its wall time; a failure stops the benchmark. */
export function time(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  }
  return { ms, stdout: result.stdout };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The median wall time of `runs` runs, after one run that warms the file-system cache. */
export function medianOf(command, args, options, runs) {
  time(command, args, options);
  return median(Array.from({ length: runs }, () => time(command, args, options).ms));
}

/** Prints rows of [benchmark, time, ratio, note] under a header, in aligned columns. */
export function printTable(rows, header = ['benchmark', 'time', 'ratio', 'note']) {
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => row[column].length)),
  );
  const print = (row) =>
    console.log(
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    );
  print(header);
  print(widths.map((width) => '-'.repeat(width)));
  rows.forEach(print);
}

/** The least work a refresh of `count` keys could do: write each state to a temp file and rename it. */
export async function baselineWrites(count) {
  const folder = await mkdtemp(join(tmpdir(), 'defstate-bench-base-'));
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) {
    const target = join(folder, `component-${index}`);
    await writeFile(`${target}.tmp`, `state of ${index}`);
    await rename(`${target}.tmp`, target);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await rm(folder, { recursive: true, force: true });
  return ms;
}

/**
 * The least work a refresh of `count` keys could do and still survive a crash: each state written
 * to a temp file, flushed to disk, renamed, and the rename flushed. Not the ratios' floor (that
 * is `baselineWrites`): printed beside it, to say how much of a refresh's time flushing costs.
 */
export async function durableWrites(count) {
  const folder = await mkdtemp(join(tmpdir(), 'defstate-bench-durable-'));
  const started = process.hrtime.bigint();
  const directory = await open(folder, 'r');
  try {
    for (let index = 0; index < count; index++) {
      const target = join(folder, `component-${index}`);
      const file = await open(`${target}.tmp`, 'w');
      try {
        await file.writeFile(`state of ${index}`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(`${target}.tmp`, target);
      await directory.sync();
    }
  } finally {
    await directory.close();
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await rm(folder, { recursive: true, force: true });
  return ms;
}
