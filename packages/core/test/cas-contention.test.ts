import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileBlobStore, readStateInfo, readText } from '../src/index.js';
import { ensureBuilt, runNode, useTempDir } from './helpers.js';

/**
 * Several real processes race on one FileBlobStore folder, as parallel CI jobs sharing a state
 * folder would: promises in one process could not catch a lock or rename that is only atomic
 * within a process.
 */
const WORKERS = 6;
const worker = new URL('./fixtures/cas-worker.mjs', import.meta.url).pathname;

beforeAll(ensureBuilt, 120_000);

/** Starts every worker, lets them go at once, and returns their parsed summaries. */
async function race<T>(mode: string, count: number): Promise<{ dir: string; results: T[] }> {
  const dir = join(await useTempDir('cas'), 'store');
  const go = join(dir, '..', 'go');
  const running = Array.from({ length: WORKERS }, (_, id) =>
    runNode([worker, mode, dir, String(id), go, String(count)]),
  );
  await writeFile(go, '');
  const outputs = await Promise.all(running);
  return { dir, results: outputs.map((output) => JSON.parse(output) as T) };
}

describe('compare-and-swap across processes', () => {
  it('loses no key when many processes merge into the pointer at once', async () => {
    const { dir, results } = await race<{ keys: string[]; writes: number[] }>('merge', 16);
    const { document } = await readStateInfo(new FileBlobStore(dir));

    const expected = results.flatMap((result) => result.keys).sort();
    expect(expected).toHaveLength(WORKERS * 16);
    expect(Object.keys(document.keys).sort()).toEqual(expected);

    // Every update wrote at least once, and the races were real: some writes lost and retried.
    const writes = results.flatMap((result) => result.writes);
    expect(writes.every((count) => count >= 1)).toBe(true);
    const conflicts = writes.reduce((sum, count) => sum + count - 1, 0);
    expect(conflicts).toBeGreaterThan(0);
  });

  it('keeps the newest version of a key that every process updates', async () => {
    const { dir, results } = await race<{ versions: string[] }>('same-key', 8);
    const { document } = await readStateInfo(new FileBlobStore(dir));
    const newest = results
      .flatMap((result) => result.versions)
      .sort()
      .at(-1);
    expect(document.keys.shared?.version).toBe(newest);
  });

  it('lets exactly one process win each create-only race', async () => {
    const rounds = 25;
    const { dir, results } = await race<{ won: number[] }>('create', rounds);
    const store = new FileBlobStore(dir);
    for (let round = 0; round < rounds; round++) {
      const winners = results.flatMap((result, id) => (result.won.includes(round) ? [id] : []));
      expect(winners, `round ${round}`).toHaveLength(1);
      expect((await readText(store, `race/${round}`)).text).toBe(`worker ${winners[0]}`);
    }
  });
});
