import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  LAYOUT_OBJECT,
  localStatePaths,
  pointerShardName,
  readStatus,
  refreshState,
  shardOf,
  UsageError,
} from '../src/index.js';
import { component, countingStore, project, useTempDir } from './helpers.js';

async function setup(versionedKeys: number) {
  const root = await useTempDir('project');
  const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
  const components = [
    component('local-a', 'local', 'a'),
    { ...component('local-b', 'local', 'b'), description: 'Second local state' },
    ...Array.from({ length: versionedKeys }, (_, index) =>
      component(`versioned-${index}`, 'versioned', `v${index}`),
    ),
  ];
  const declared = project(root, components);
  const report = await refreshState({
    project: declared,
    openStore: async () => store,
    commitDelayMs: 0,
  });
  expect(report.ok).toBe(true);
  return { root, store, declared, report };
}

describe('readStatus', () => {
  it.each([1, 60])('reads each pointer shard once for %i versioned keys', async (count) => {
    const t = await setup(count);
    const counted = countingStore(t.store);
    const status = await readStatus(t.declared, { openStore: async () => counted.store });

    // The layout manifest, then each pointer shard the keys fall in, once.
    const shards = new Set(
      Array.from({ length: count }, (_, index) =>
        pointerShardName(shardOf(`versioned-${index}`, DEFAULT_POINTER_SHARDS)),
      ),
    );
    expect(counted.calls.gotNames.sort()).toEqual([LAYOUT_OBJECT, ...shards].sort());
    expect(counted.calls.list + counted.calls.head).toBe(0);
    expect(status.storeLocation).toBe(t.store.location);
    expect(status.keys).toHaveLength(count + 2);
    expect(status.keys.map((key) => key.info)).toEqual(
      t.report.results.map((result) => result.info),
    );
    expect(status.keys[1]).toMatchObject({ key: 'local-b', description: 'Second local state' });
  });

  it('shows no info for local state whose file is gone', async () => {
    const t = await setup(0);
    await rm(localStatePaths(t.root, 'local-a').state);
    const status = await readStatus(t.declared);
    expect(status.keys.map((key) => [key.key, key.info !== undefined])).toEqual([
      ['local-a', false],
      ['local-b', true],
    ]);
  });

  it('selects keys and management types without opening the store needlessly', async () => {
    const t = await setup(3);
    let opened = 0;
    const openStore = async () => {
      opened++;
      return t.store;
    };
    const local = await readStatus(t.declared, { management: ['local'], openStore });
    expect(local.keys.map((key) => key.key)).toEqual(['local-a', 'local-b']);
    expect(opened).toBe(0);
    const one = await readStatus(t.declared, { keys: ['versioned-2'], openStore });
    expect(one.keys).toMatchObject([{ key: 'versioned-2', management: 'versioned' }]);
    expect(one.keys[0]?.info).toBeDefined();
    expect(opened).toBe(1);
    await expect(readStatus(t.declared, { keys: ['nope'] })).rejects.toBeInstanceOf(UsageError);
  });

  it('reports keys that were never refreshed', async () => {
    const root = await useTempDir('project');
    const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
    const status = await readStatus(
      project(root, [component('l', 'local', 'x'), component('v', 'versioned', 'x')]),
      { openStore: async () => store },
    );
    expect(status.keys.map((key) => key.info)).toEqual([undefined, undefined]);
  });
});
