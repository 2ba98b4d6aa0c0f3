import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FileBlobStore,
  IntegrityError,
  mergePins,
  parseShardSpec,
  partitionKeys,
  planShard,
  readPins,
  readRefreshTimings,
  recordRefreshTimings,
  refreshShard,
  shardFromEnvironment,
  shardRunId,
  UsageError,
} from '../src/index.js';
import { component, project, rejection, useTempDir } from './helpers.js';

const keys = (count: number, prefix = 'key') =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

function shardOfEach(shards: string[][]): Map<string, number> {
  return new Map(shards.flatMap((list, index) => list.map((key) => [key, index] as const)));
}

describe('partitionKeys', () => {
  it('puts every key in exactly one shard, the same way every time', () => {
    const all = keys(500);
    const shards = partitionKeys(all, 8);
    expect(shards).toHaveLength(8);
    expect(shards.flat().sort()).toEqual([...all].sort());
    expect(partitionKeys([...all].reverse(), 8).map((list) => [...list].sort())).toEqual(
      shards.map((list) => [...list].sort()),
    );
    // By count, the fullest shard (the one the run waits for) is within 5% of its share.
    expect(Math.max(...shards.map((list) => list.length))).toBeLessThanOrEqual(
      Math.ceil(62.5 * 1.05),
    );
  });

  it('moves few other keys when a key is added or removed', () => {
    const all = keys(500);
    const before = shardOfEach(partitionKeys(all, 8));
    const added = shardOfEach(partitionKeys([...all, 'a-new-key'], 8));
    const removed = shardOfEach(partitionKeys(all.slice(1), 8));
    const moved = (after: Map<string, number>) =>
      [...after].filter(([key, shard]) => before.has(key) && before.get(key) !== shard).length;
    expect(moved(added)).toBeLessThanOrEqual(5);
    expect(moved(removed)).toBeLessThanOrEqual(5);
  });

  it('balances by duration: heavy keys spread, and no shard carries much more than its share', () => {
    const all = keys(400);
    const weights = new Map(all.map((key, index) => [key, index < 16 ? 60_000 : 100]));
    const shards = partitionKeys(all, 8, weights);
    const loads = shards.map((list) => list.reduce((sum, key) => sum + (weights.get(key) ?? 0), 0));
    const average = loads.reduce((a, b) => a + b, 0) / 8;
    // Two of the 16 one-minute keys per shard, not a pile of them on one.
    for (const list of shards) {
      expect(list.filter((key) => (weights.get(key) ?? 0) > 1000)).toHaveLength(2);
    }
    expect(Math.max(...loads)).toBeLessThanOrEqual(average * 1.1);
    // By count instead, some shard would take three or more of them.
    const byCount = partitionKeys(all, 8);
    const heavyPerShard = byCount.map(
      (list) => list.filter((key) => (weights.get(key) ?? 0) > 1000).length,
    );
    expect(Math.max(...heavyPerShard)).toBeGreaterThan(2);
  });

  it('counts a key without a duration as the median of those known', () => {
    const weights = new Map([
      ['a', 1000],
      ['b', 1000],
      ['c', 1000],
    ]);
    const shards = partitionKeys(['a', 'b', 'c', 'd'], 2, weights);
    expect(shards.map((list) => list.length)).toEqual([2, 2]);
  });
});

describe('shard specs', () => {
  it('reads i/n and refuses anything else', () => {
    expect(parseShardSpec('3/8')).toEqual({ index: 3, total: 8 });
    for (const bad of ['0/8', '9/8', '3', '3/0', 'a/b', '-1/2']) {
      expect(() => parseShardSpec(bad)).toThrow(UsageError);
    }
  });

  it('reads the CI system’s index with --shard auto, counting from 1', () => {
    expect(shardFromEnvironment({ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '5' })).toEqual({
      index: 2,
      total: 5,
    });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '0', DEFSTATE_SHARD_TOTAL: '4' })).toEqual({
      index: 1,
      total: 4,
    });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '3' }, 4)).toEqual({ index: 4, total: 4 });
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '3' })).toThrow(/no shard total/);
    expect(() => shardFromEnvironment({})).toThrow(/found no shard index/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '4' }, 4)).toThrow(UsageError);
  });

  it('names the run from DEFSTATE_SHARD_RUN or the CI system', () => {
    expect(shardRunId({ DEFSTATE_SHARD_RUN: 'r1', GITHUB_RUN_ID: '9' })).toBe('r1');
    expect(shardRunId({ GITHUB_RUN_ID: '9', GITHUB_REPOSITORY: 'o/r' })).toBe('github:o/r:9');
    expect(shardRunId({ CI_PIPELINE_ID: '7', CI_PROJECT_ID: '3' })).toBe('gitlab:3:7');
    expect(shardRunId({})).toBeUndefined();
  });
});

describe('planShard', () => {
  it('gives every shard of a run the plan the first one made, whatever timings came after', async () => {
    const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
    const all = keys(200);
    await recordRefreshTimings(store, new Map(all.map((key, index) => [key, index * 10])));
    const first = await planShard(all, { index: 1, total: 4 }, { store, runId: 'run-1' });
    expect(first).toMatchObject({ source: 'created', balancedBy: 'durations', selected: 200 });
    // Shard 1 finished and recorded very different durations before the others started.
    await recordRefreshTimings(store, new Map(all.map((key, index) => [key, 5000 - index * 10])));
    const rest = await Promise.all(
      [2, 3, 4].map((index) => planShard(all, { index, total: 4 }, { store, runId: 'run-1' })),
    );
    expect(rest.every((plan) => plan.source === 'shared' && plan.planId === first.planId)).toBe(
      true,
    );
    const union = [first, ...rest].flatMap((plan) => plan.keys);
    expect(union.sort()).toEqual([...all].sort());
    // A re-run of shard 3 gets its keys again; another run plans afresh.
    const again = await planShard(all, { index: 3, total: 4 }, { store, runId: 'run-1' });
    expect(again.keys).toEqual(rest[1]?.keys);
    const next = await planShard(all, { index: 3, total: 4 }, { store, runId: 'run-2' });
    expect(next.source).toBe('created');
    expect(next.planId).not.toBe(first.planId);
  });

  it('partitions by count, with no store read, when there is no run id', async () => {
    const all = keys(50);
    const plan = await planShard(all, { index: 2, total: 3 });
    expect(plan).toMatchObject({ source: 'local', balancedBy: 'count' });
    expect(plan.keys).toEqual(partitionKeys(all, 3)[1]);
  });
});

describe('refreshShard and mergePins', () => {
  async function setup(count = 30) {
    const root = await useTempDir('sharded');
    const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
    const refreshed: string[] = [];
    const components = keys(count).map((key, index) =>
      component(key, index % 5 === 0 ? 'local' : 'versioned', async ({ statePath }) => {
        refreshed.push(key);
        await writeFile(statePath, `state of ${key}`);
      }),
    );
    const theProject = project(root, components);
    const deployShard = (index: number, total: number, runId = 'run-a') =>
      refreshShard({
        project: theProject,
        openStore: async () => store,
        commitDelayMs: 0,
        shard: { index, total },
        runId,
        pin: true,
      });
    return { root, store, project: theProject, refreshed, deployShard };
  }

  it('refreshes each key in one shard, records durations, and merges the partial pins', async () => {
    const t = await setup();
    const reports = await Promise.all([1, 2, 3].map((index) => t.deployShard(index, 3)));
    expect(reports.every((report) => report.ok)).toBe(true);
    expect([...t.refreshed].sort()).toEqual(keys(30).sort());
    expect(reports.map((report) => report.pinFile?.split('/').pop())).toEqual([
      '.pins.shard-1-of-3.json',
      '.pins.shard-2-of-3.json',
      '.pins.shard-3-of-3.json',
    ]);
    expect(await readPins(t.root)).toBeUndefined();
    expect((await readRefreshTimings(t.store)).size).toBe(30);

    const merged = await mergePins(t.project);
    expect(Object.keys(merged.pins.keys).sort()).toEqual(keys(30).sort());
    expect(merged.pins.store).toBe(t.store.location);
    expect((await readPins(t.root))?.keys['key-7']).toEqual(
      reports.flatMap((report) => report.results).find((result) => result.key === 'key-7')?.info,
    );
  });

  it('fails the merge when a shard is missing, a key is pinned twice, or plans differ', async () => {
    const t = await setup(12);
    const [one, two] = await Promise.all([t.deployShard(1, 2), t.deployShard(2, 2)]);
    const missing = await rejection(mergePins(t.project, { files: [one?.pinFile as string] }));
    expect(missing).toBeInstanceOf(IntegrityError);
    expect(missing.message).toContain('Shard 2 of 2 has no partial pin file');

    // Shard 2 again from another run: planned separately from shard 1.
    const other = await t.deployShard(2, 2, 'run-b');
    const file = other.pinFile as string;
    const text = JSON.parse(await readFile(file, 'utf8'));
    const separately = await rejection(
      mergePins(t.project, { files: [one?.pinFile as string, file] }),
    );
    expect(separately.message).toContain('planned separately');

    // A partial file that also pins a key of shard 1.
    const stolen = Object.keys(one?.pins?.keys ?? {})[0] as string;
    text.keys[stolen] = one?.pins?.keys[stolen];
    text.shard.plan = one?.shard?.planId;
    await writeFile(file, JSON.stringify(text));
    const twice = await rejection(mergePins(t.project, { files: [one?.pinFile as string, file] }));
    expect(twice.message).toContain(`"${stolen}" (shards 1 and 2)`);
    expect(await readPins(t.root)).toBeUndefined();
    expect(two?.ok).toBe(true);

    const none = await rejection(mergePins(project(await useTempDir('empty'), [])));
    expect(none).toBeInstanceOf(UsageError);
  });
});
