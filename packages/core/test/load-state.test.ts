import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type BlobStore,
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  IntegrityError,
  InvalidKeyError,
  LAYOUT_OBJECT,
  loadState,
  loadStates,
  localStatePaths,
  pointerShardName,
  refreshState,
  StateNotFoundError,
  shardOf,
  stateObjectName,
  TransientError,
} from '../src/index.js';
import {
  component,
  countingStore,
  listFiles,
  project,
  rejection,
  sha256,
  useTempDir,
} from './helpers.js';

/** A project whose components were refreshed into a FileBlobStore of its own. */
async function refreshed(components: ReturnType<typeof component>[]) {
  const root = await useTempDir('project');
  const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
  const cacheDir = join(await useTempDir('cache'), 'cache');
  const report = await refreshState({
    project: project(root, components),
    openStore: async () => store,
    commitDelayMs: 0,
  });
  expect(report.ok).toBe(true);
  const infoOf = (key: string) => report.results.find((result) => result.key === key)?.info;
  return { root, store, cacheDir, infoOf };
}

describe('loadState', () => {
  it('returns local state in place', async () => {
    const t = await refreshed([component('dbt', 'local', 'manifest')]);
    const loaded = await loadState('dbt', { projectRoot: t.root });
    expect(loaded).toEqual({
      key: 'dbt',
      management: 'local',
      path: localStatePaths(t.root, 'dbt').state,
      version: t.infoOf('dbt')?.version,
      info: t.infoOf('dbt'),
      pinned: false,
    });
  });

  it('downloads versioned state once into the cache, checked by sha256', async () => {
    const t = await refreshed([component('catalog', 'versioned', 'big catalog')]);
    const info = t.infoOf('catalog');
    const counted = countingStore(t.store);
    const options = { projectRoot: t.root, store: counted.store, cacheDir: t.cacheDir };

    const first = await loadState('catalog', options);
    expect(first).toMatchObject({
      key: 'catalog',
      management: 'versioned',
      version: info?.version,
    });
    expect(first.path).toBe(
      join(t.cacheDir, 'sha256', sha256('big catalog').slice(0, 2), sha256('big catalog')),
    );
    expect(await readFileText(first.path)).toBe('big catalog');
    const object = stateObjectName('catalog', info?.version as string);
    const shard = pointerShardName(shardOf('catalog', DEFAULT_POINTER_SHARDS));
    expect(counted.calls.gotNames).toEqual([LAYOUT_OBJECT, shard, object]);

    const second = await loadState('catalog', options);
    expect(second).toEqual(first);
    // Only the key's pointer shard is read again (the layout is known); the state itself comes
    // from the cache.
    expect(counted.calls.gotNames).toEqual([LAYOUT_OBJECT, shard, object, shard]);
  });

  it('refuses a stored object that does not match its sha256, caching nothing', async () => {
    const t = await refreshed([component('catalog', 'versioned', 'original!!')]);
    const info = t.infoOf('catalog');
    const name = stateObjectName('catalog', info?.version as string);
    // Same size, other bytes: only the hash can tell.
    await writeFile(await t.store.pathOf(name), 'tampered!!');

    const error = await rejection(
      loadState('catalog', { projectRoot: t.root, store: t.store, cacheDir: t.cacheDir }),
    );
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toContain(info?.sha256);
    expect(error.message).toContain(sha256('tampered!!'));
    expect(await listFiles(t.cacheDir)).toEqual([]);
  });

  it('retries a store that fails for a moment, so one 503 does not stop an app starting', async () => {
    const t = await refreshed([component('catalog', 'versioned', 'big catalog')]);
    let failures = 0;
    const flaky: BlobStore = {
      adapter: t.store.adapter,
      location: t.store.location,
      capabilities: t.store.capabilities,
      head: (name) => t.store.head(name),
      put: (...args) => t.store.put(...args),
      list: (...args) => t.store.list(...args),
      delete: (...args) => t.store.delete(...args),
      get: async (name) => {
        if (failures < 2) {
          failures++;
          throw new TransientError(`503 Service Unavailable on ${name}`);
        }
        return t.store.get(name);
      },
    };
    const loaded = await loadState('catalog', {
      projectRoot: t.root,
      store: flaky,
      cacheDir: t.cacheDir,
    });
    expect(await readFileText(loaded.path)).toBe('big catalog');
    expect(failures).toBe(2);
  });

  it('refuses a truncated object', async () => {
    const t = await refreshed([component('catalog', 'versioned', 'x'.repeat(100_000))]);
    const name = stateObjectName('catalog', t.infoOf('catalog')?.version as string);
    await writeFile(await t.store.pathOf(name), 'x'.repeat(99_999));
    const error = await rejection(
      loadState('catalog', { projectRoot: t.root, store: t.store, cacheDir: t.cacheDir }),
    );
    expect(error).toBeInstanceOf(IntegrityError);
    expect(await listFiles(t.cacheDir)).toEqual([]);
  });

  it('says how to make state for a key that has none', async () => {
    const t = await refreshed([component('other', 'versioned', 'x')]);
    const error = await rejection(
      loadState('never-refreshed', { projectRoot: t.root, store: t.store, cacheDir: t.cacheDir }),
    );
    expect(error).toBeInstanceOf(StateNotFoundError);
    expect((error as StateNotFoundError).key).toBe('never-refreshed');
    expect(error.message).toContain('defstate refresh --key "never-refreshed"');
    expect(error.message).toContain(t.store.location);
    // The management type was not given, so the key could be a local one never refreshed.
    expect(error.message).toContain(`no local state in ${join(t.root, '.local_defs_state')}`);
    const versionedOnly = await rejection(
      loadState('never-refreshed', {
        projectRoot: t.root,
        store: t.store,
        management: 'versioned',
      }),
    );
    expect(versionedOnly.message).not.toContain('no local state');
  });

  it('says how to make local state that is missing', async () => {
    const root = await useTempDir('project');
    const error = await rejection(loadState('dbt', { projectRoot: root, management: 'local' }));
    expect(error).toBeInstanceOf(StateNotFoundError);
    expect(error.message).toContain('defstate refresh --key "dbt"');
    expect(error.message).toContain('.local_defs_state');
  });

  it('opens the configured storage when no store is given', async () => {
    const t = await refreshed([component('catalog', 'versioned', 'from env')]);
    const loaded = await loadState('catalog', {
      projectRoot: t.root,
      env: {
        DEFSTATE_STORAGE_URL: pathToFileURL(t.store.root).href,
        DEFSTATE_CACHE_DIR: t.cacheDir,
      },
    });
    expect(loaded.path.startsWith(t.cacheDir)).toBe(true);
    expect(await readFileText(loaded.path)).toBe('from env');
  });

  it('reads versioned state when asked to, even if local state exists', async () => {
    const t = await refreshed([component('k', 'local', 'local copy')]);
    const error = await rejection(
      loadState('k', {
        projectRoot: t.root,
        management: 'versioned',
        store: t.store,
        cacheDir: t.cacheDir,
      }),
    );
    expect(error).toBeInstanceOf(StateNotFoundError);
  });

  it('rejects an invalid key', async () => {
    await expect(loadState('')).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('keeps one cached file for keys with the same content', async () => {
    const t = await refreshed([
      component('a', 'versioned', 'same'),
      component('b', 'versioned', 'same'),
    ]);
    const options = { projectRoot: t.root, store: t.store, cacheDir: t.cacheDir };
    const [a, b] = [await loadState('a', options), await loadState('b', options)];
    expect(a.path).toBe(b.path);
    expect(a.version).not.toBe(b.version);
    expect(await listFiles(t.cacheDir)).toHaveLength(1);
  });

  it('leaves no temporary files in the cache', async () => {
    const t = await refreshed([component('a', 'versioned', 'a'), component('b', 'versioned', 'b')]);
    const options = { projectRoot: t.root, store: t.store, cacheDir: t.cacheDir };
    await Promise.all([loadState('a', options), loadState('b', options), loadState('a', options)]);
    const files = await listFiles(t.cacheDir);
    expect(files).toHaveLength(2);
    expect(files.every((file) => /^sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(file))).toBe(true);
    expect(await readdir(t.cacheDir)).toEqual(['sha256']);
  });

  it('loads many keys with one read of the pointer', async () => {
    const t = await refreshed([
      component('a', 'versioned', 'A'),
      component('b', 'versioned', 'B'),
      component('c', 'local', 'C'),
    ]);
    const counted = countingStore(t.store);
    const options = { projectRoot: t.root, store: counted.store, cacheDir: t.cacheDir };
    const loaded = await loadStates(['a', 'b', 'c'], options);
    expect(await Promise.all(loaded.map((state) => readFile(state.path, 'utf8')))).toEqual([
      'A',
      'B',
      'C',
    ]);
    const shards = new Set(
      ['a', 'b', 'c'].map((key) => pointerShardName(shardOf(key, DEFAULT_POINTER_SHARDS))),
    );
    expect(counted.calls.gotNames.filter((name) => name.startsWith('pointer/')).sort()).toEqual(
      [...shards].sort(),
    );
  });
});

function readFileText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
