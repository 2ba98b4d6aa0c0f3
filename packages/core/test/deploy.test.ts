import { cp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  type BlobStore,
  createStateVersion,
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  IntegrityError,
  LeaseError,
  listAll,
  loadState,
  localStatePaths,
  PIN_FILE,
  type PinFile,
  pinFilePath,
  pointerShardName,
  pruneState,
  publishedRecordName,
  pulledStatePath,
  pullState,
  readHistory,
  readLastRefresh,
  readPinFile,
  readPins,
  refreshState,
  rollbackState,
  type StateInfo,
  StateNotFoundError,
  StorageError,
  shardOf,
  stateObjectName,
  UsageError,
  updatePointer,
  verifyState,
} from '../src/index.js';
import { component, pointerKeys, project, rejection, sha256, useTempDir } from './helpers.js';

/**
 * A project with one local and two versioned components whose content the test changes between
 * refreshes, and a file store of its own.
 */
async function deployment() {
  const root = await useTempDir('project');
  const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
  const cacheDir = join(await useTempDir('cache'), 'cache');
  const content: Record<string, string> = { svc: 'services v1', cat: 'catalog v1', flags: 'f1' };
  const components = [
    component('svc', 'local', ({ statePath }) => writeFile(statePath, content.svc as string)),
    component('cat', 'versioned', ({ statePath }) => writeFile(statePath, content.cat as string)),
    component('flags', 'versioned', ({ statePath }) =>
      writeFile(statePath, content.flags as string),
    ),
  ];
  const theProject = project(root, components);
  const openStore = async () => store;
  const refresh = async (options: { pin?: boolean; keys?: string[] } = {}) => {
    const report = await refreshState({
      project: theProject,
      openStore,
      commitDelayMs: 0,
      ...options,
    });
    return report;
  };
  const load = (key: string, at = root) => loadState(key, { projectRoot: at, store, cacheDir });
  const text = async (key: string, at = root) => readFile((await load(key, at)).path, 'utf8');
  return { root, store, cacheDir, content, project: theProject, openStore, refresh, load, text };
}

/** Sets a file-store object's modification time `ms` into the past, as if written then. */
async function backdate(store: FileBlobStore, name: string, ms: number): Promise<void> {
  const path = await store.pathOf(name);
  const then = new Date(Date.now() - ms);
  await utimes(path, then, then);
}

/** The store with some of its methods replaced; the rest pass through. */
function intercept(store: BlobStore, overrides: Partial<BlobStore>): BlobStore {
  return {
    adapter: store.adapter,
    location: store.location,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    capabilities: store.capabilities,
    get: (...args) => store.get(...args),
    head: (...args) => store.head(...args),
    put: (...args) => store.put(...args),
    list: (...args) => store.list(...args),
    delete: (...args) => store.delete(...args),
    ...overrides,
  };
}

async function objectNames(store: BlobStore, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const item of listAll(store, prefix)) names.push(item.name);
  return names;
}

describe('pinned deploys', () => {
  it('pins every declared key, and loadState keeps loading the pins after latest moves', async () => {
    const t = await deployment();
    const deploy = await t.refresh({ pin: true });
    expect(deploy.ok).toBe(true);
    expect(deploy.pinFile).toBe(join(t.root, '.local_defs_state', PIN_FILE));
    const pins = (await readPins(t.root)) as PinFile;
    expect(Object.keys(pins.keys)).toEqual(['cat', 'flags', 'svc']);
    expect(pins.store).toBe(t.store.location);
    for (const result of deploy.results) expect(pins.keys[result.key]).toEqual(result.info);

    // The artifact is a copy of the project, taken now.
    const artifact = join(await useTempDir('artifact'), 'app');
    await cp(t.root, artifact, { recursive: true });

    // Later refreshes (without pinning) move latest in the store.
    t.content.cat = 'catalog v2';
    t.content.flags = 'f2';
    const later = await t.refresh();
    expect(later.results.map((result) => result.status)).toEqual([
      'unchanged',
      'refreshed',
      'refreshed',
    ]);
    const document = { keys: await pointerKeys(t.store) };
    expect(document.keys.cat?.version).not.toBe(pins.keys.cat?.version);

    // The artifact still loads exactly the pinned versions; so does the project, whose pins stay.
    expect(await t.text('cat', artifact)).toBe('catalog v1');
    expect(await t.text('flags', artifact)).toBe('f1');
    expect(await t.text('svc', artifact)).toBe('services v1');
    const loaded = await t.load('cat', artifact);
    expect(loaded).toMatchObject({ version: pins.keys.cat?.version, pinned: true });
    expect(await t.text('cat')).toBe('catalog v1');
    // Unless pins are ignored.
    const latest = await loadState('cat', {
      projectRoot: artifact,
      store: t.store,
      cacheDir: t.cacheDir,
      ignorePins: true,
    });
    expect(await readFile(latest.path, 'utf8')).toBe('catalog v2');
  });

  it('pins unselected keys at their current state, and refuses when a declared key has none', async () => {
    const t = await deployment();
    const partial = await t.refresh({ pin: true, keys: ['cat'] });
    expect(partial.ok).toBe(false);
    expect(partial.pinError).toBeInstanceOf(UsageError);
    expect(partial.pinError?.message).toContain('"svc", "flags"');
    expect(await readPins(t.root)).toBeUndefined();

    await t.refresh();
    t.content.cat = 'catalog v2';
    const second = await t.refresh({ pin: true, keys: ['cat'] });
    expect(second.ok).toBe(true);
    const pins = second.pins as PinFile;
    expect(pins.keys.cat?.sha256).toBe(sha256('catalog v2'));
    expect(pins.keys.flags?.sha256).toBe(sha256('f1'));
    expect(pins.keys.svc?.management).toBe('local');
  });

  it('writes no pins when a key fails, and keeps the previous pin file', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    const before = await readFile(pinFilePath(t.root), 'utf8');
    const broken = project(t.root, [
      ...t.project.components.slice(1),
      component('svc', 'local', () => {
        throw new Error('source is down');
      }),
    ]);
    const report = await refreshState({
      project: broken,
      openStore: t.openStore,
      commitDelayMs: 0,
      pin: true,
      retries: 0,
    });
    expect(report.ok).toBe(false);
    expect(report.pinError?.message).toMatch(/Not pinned: 1 key/);
    expect(await readFile(pinFilePath(t.root), 'utf8')).toBe(before);
    const last = await readLastRefresh(t.root);
    expect(last?.keys.svc).toMatchObject({ status: 'failed', version: null });
    expect(last?.keys.svc?.error?.message).toContain('source is down');
    expect(last?.keys.cat?.status).toBe('unchanged');
  });

  it('names key and version when a pinned version is gone from storage', async () => {
    const t = await deployment();
    const { pins } = await t.refresh({ pin: true });
    const version = pins?.keys.cat?.version as string;
    await t.store.delete(stateObjectName('cat', version));
    const error = await rejection(t.load('cat'));
    expect(error).toBeInstanceOf(StateNotFoundError);
    expect(error.message).toContain(`Pinned version ${version} of "cat" is not in`);
  });

  it('refuses local state that is not the pinned version', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    t.content.svc = 'services v2';
    await t.refresh({ keys: ['svc'] });
    const error = await rejection(t.load('svc'));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toMatch(/pin file pins/);
  });

  it('refuses a key the pin file does not name, rather than load whatever is latest', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    const withNewKey = project(t.root, [
      ...t.project.components,
      component('extra', 'versioned', 'x'),
    ]);
    await refreshState({
      project: withNewKey,
      openStore: t.openStore,
      keys: ['extra'],
      commitDelayMs: 0,
    });
    const error = await rejection(t.load('extra'));
    expect(error).toBeInstanceOf(StateNotFoundError);
    expect(error.message).toContain(`"extra" is not in the pin file ${pinFilePath(t.root)}`);
    const latest = await loadState('extra', {
      projectRoot: t.root,
      store: t.store,
      cacheDir: t.cacheDir,
      ignorePins: true,
    });
    expect(await readFile(latest.path, 'utf8')).toBe('x');
  });

  it('reports a damaged pin file by path', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    await writeFile(pinFilePath(t.root), '{"schemaVersion": 1, "keys": 3}');
    const error = await rejection(t.load('cat'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain(pinFilePath(t.root));
    await expect(readPinFile(join(t.root, 'nowhere.json'))).rejects.toThrow(UsageError);
  });
});

describe('pullState', () => {
  it('puts the pinned versions in the tree, so loading needs no store', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    const pulled = await pullState(t.project, { openStore: t.openStore });
    expect(pulled.wrotePins).toBe(false);
    expect(pulled.keys.map(({ key, downloaded }) => [key, downloaded])).toEqual([
      ['cat', true],
      ['flags', true],
    ]);
    const again = await pullState(t.project, { openStore: t.openStore });
    expect(again.keys.every(({ downloaded }) => !downloaded)).toBe(true);

    // A copy of the project loads every key with a store that fails every call.
    const artifact = join(await useTempDir('artifact'), 'app');
    await cp(t.root, artifact, { recursive: true });
    const offline = () => Promise.reject(new Error('no network'));
    const unreachable = intercept(t.store, {
      get: offline,
      head: offline,
      put: offline,
      list: offline,
      delete: offline,
    });
    for (const [key, expected] of [
      ['cat', 'catalog v1'],
      ['flags', 'f1'],
      ['svc', 'services v1'],
    ] as const) {
      const loaded = await loadState(key, {
        projectRoot: artifact,
        store: unreachable,
        cacheDir: join(await useTempDir('empty-cache'), 'c'),
      });
      expect(await readFile(loaded.path, 'utf8')).toBe(expected);
    }
  });

  it('pins the latest versions first when there is no pin file', async () => {
    const t = await deployment();
    await t.refresh();
    const pulled = await pullState(t.project, { openStore: t.openStore, keys: ['cat'] });
    expect(pulled.wrotePins).toBe(true);
    expect(Object.keys(pulled.pins.keys)).toEqual(['cat', 'flags', 'svc']);
    expect(pulled.keys.map(({ key }) => key)).toEqual(['cat']);
    const info = pulled.pins.keys.cat;
    expect(await readFile(pulledStatePath(t.root, info as never), 'utf8')).toBe('catalog v1');
  });

  it('replaces an older pulled version of a key', async () => {
    const t = await deployment();
    const first = await t.refresh({ pin: true });
    await pullState(t.project, { openStore: t.openStore });
    t.content.cat = 'catalog v2';
    const second = await t.refresh({ pin: true });
    // Pinning alone drops the copy the pins no longer name; the unchanged key's copy stays.
    const old = pulledStatePath(t.root, first.pins?.keys.cat as never);
    await expect(readFile(old)).rejects.toThrow();
    expect(await readFile(pulledStatePath(t.root, second.pins?.keys.flags as never), 'utf8')).toBe(
      'f1',
    );
    await pullState(t.project, { openStore: t.openStore });
    const current = pulledStatePath(t.root, second.pins?.keys.cat as never);
    expect(await readFile(current, 'utf8')).toBe('catalog v2');
  });
});

describe('verifyState', () => {
  const codes = (report: Awaited<ReturnType<typeof verifyState>>) =>
    report.problems.map((problem) => `${problem.key}:${problem.code}`);

  it('passes a fresh deployment, and reports keys without state', async () => {
    const t = await deployment();
    const empty = await verifyState(t.project, { openStore: t.openStore });
    expect(empty.ok).toBe(false);
    expect(codes(empty)).toEqual(['cat:no-state', 'flags:no-state', 'svc:no-state']);

    await t.refresh({ pin: true });
    const good = await verifyState(t.project, { openStore: t.openStore, deep: true });
    expect(good).toMatchObject({ ok: true, problems: [] });
    expect(good.keys.every((key) => key.pinned && key.ok)).toBe(true);
  });

  it('catches missing local state, pinned versions gone, and bytes that do not match', async () => {
    const t = await deployment();
    const { pins } = await t.refresh({ pin: true });
    await rm(localStatePaths(t.root, 'svc').state);
    await t.store.delete(stateObjectName('cat', pins?.keys.cat?.version as string));
    const report = await verifyState(t.project, { openStore: t.openStore });
    expect(codes(report)).toEqual(['cat:pinned-version-missing', 'svc:local-missing']);
    expect(report.keys.find((key) => key.key === 'flags')?.ok).toBe(true);
  });

  it('catches a sha256 mismatch in the tree, in a pulled copy and (deep) in the store', async () => {
    const t = await deployment();
    const { pins } = await t.refresh({ pin: true });
    await pullState(t.project, { openStore: t.openStore });
    await writeFile(localStatePaths(t.root, 'svc').state, 'services vX');
    await writeFile(pulledStatePath(t.root, pins?.keys.flags as never), 'fX');
    // Same size, other bytes, in the store: only a deep check can tell.
    const cat = pins?.keys.cat as NonNullable<PinFile['keys'][string]>;
    await t.store.delete(stateObjectName('cat', cat.version));
    await t.store.put(stateObjectName('cat', cat.version), 'catalog vX');
    const shallow = await verifyState(t.project, { openStore: t.openStore });
    expect(codes(shallow)).toEqual(['flags:sha256-mismatch', 'svc:sha256-mismatch']);
    const deep = await verifyState(t.project, { openStore: t.openStore, deep: true });
    expect(codes(deep)).toEqual([
      'cat:sha256-mismatch',
      'flags:sha256-mismatch',
      'svc:sha256-mismatch',
    ]);
  });

  it('catches stale state, keys the pins do not name, and local state refreshed after pinning', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    const inADay = new Date(Date.now() + 86_400_000);
    const stale = await verifyState(t.project, {
      openStore: t.openStore,
      maxAgeMs: 3_600_000,
      now: inADay,
    });
    expect(codes(stale)).toEqual(['cat:stale', 'flags:stale', 'svc:stale']);
    expect(stale.problems[0]?.message).toMatch(/is 1d old; the limit is 1h/);

    t.content.svc = 'services v2';
    await t.refresh({ keys: ['svc'] });
    const withNewKey = project(t.root, [
      ...t.project.components,
      component('extra', 'versioned', 'x'),
    ]);
    await refreshState({
      project: withNewKey,
      openStore: t.openStore,
      keys: ['extra'],
      commitDelayMs: 0,
    });
    const report = await verifyState(withNewKey, { openStore: t.openStore });
    expect(codes(report)).toEqual(['extra:not-pinned', 'svc:pin-mismatch']);
  });

  it('counts age from the last refresh that confirmed the content, not only from its version', async () => {
    const t = await deployment();
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await refreshState({
      project: t.project,
      openStore: t.openStore,
      commitDelayMs: 0,
      pin: true,
      now: () => twoDaysAgo,
    });
    const old = await verifyState(t.project, { openStore: t.openStore, maxAgeMs: 86_400_000 });
    expect(codes(old)).toEqual(['cat:stale', 'flags:stale', 'svc:stale']);
    // Today's deploy finds nothing changed upstream: same versions, but confirmed fresh.
    const today = await t.refresh({ pin: true });
    expect(today.results.every((result) => result.status === 'unchanged')).toBe(true);
    const fresh = await verifyState(t.project, { openStore: t.openStore, maxAgeMs: 86_400_000 });
    expect(fresh.problems).toEqual([]);
    const later = await verifyState(t.project, {
      openStore: t.openStore,
      maxAgeMs: 3_600_000,
      now: new Date(Date.now() + 7_200_000),
    });
    expect(later.problems[0]?.message).toMatch(
      /is 2d old, last confirmed by a refresh 2h ago; the limit is 1h/,
    );
  });

  it('says the stores differ when the pin file was written from another store', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    const elsewhere = new FileBlobStore(join(await useTempDir('store'), 'other'));
    const report = await verifyState(t.project, { openStore: async () => elsewhere });
    expect(codes(report)).toEqual(['null:pin-store-mismatch']);
    expect(report.problems[0]?.message).toContain(`written from ${t.store.location}`);
    expect(report.problems[0]?.message).toContain(elsewhere.location);
  });

  it('reports a store that cannot be read, once, without throwing', async () => {
    const t = await deployment();
    await t.refresh({ pin: true });
    const report = await verifyState(t.project, {
      openStore: async () => {
        throw new Error('credentials rejected');
      },
    });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      {
        key: null,
        code: 'store-error',
        message: 'The store could not be read: credentials rejected',
      },
    ]);
    // Versioned keys were not checked, so none of them is reported good.
    expect(report.keys.map(({ key, ok }) => [key, ok])).toEqual([
      ['svc', true],
      ['cat', false],
      ['flags', false],
    ]);
  });
});

describe('history, rollback and prune', () => {
  /** A key whose pointer entry lives in the same shard as `key`'s. */
  function keyInShardOf(key: string): string {
    const shard = shardOf(key, DEFAULT_POINTER_SHARDS);
    for (let index = 0; ; index++) {
      if (shardOf(`neighbour-${index}`, DEFAULT_POINTER_SHARDS) === shard)
        return `neighbour-${index}`;
    }
  }

  /** Refreshes `cat` with `count` distinct contents; returns the versions, oldest first. */
  async function versionsOf(
    t: Awaited<ReturnType<typeof deployment>>,
    count: number,
    fixed?: string,
  ) {
    const versions: string[] = [];
    for (let index = 1; index <= count; index++) {
      t.content.cat = fixed ?? `catalog v${index}`;
      const report = await t.refresh({ keys: ['cat'] });
      versions.push(report.results[0]?.info?.version as string);
    }
    return versions;
  }

  it('lists versions newest first by the store’s clock, with latest, pinned and orphans marked', async () => {
    const t = await deployment();
    const [v1, v2, v3] = await versionsOf(t, 3);
    // An orphan: uploaded two hours ago, never recorded (a refresh that crashed after its upload).
    const orphan = createStateVersion(new Date(Date.now() - 7_200_000));
    await t.store.put(stateObjectName('cat', orphan), 'half a refresh');
    await backdate(t.store, stateObjectName('cat', orphan), 7_200_000);
    const pins = [{ keys: { cat: { version: v1 } } }] as unknown as PinFile[];
    const history = await readHistory(t.store, 'cat', { pins });
    expect(history.latest?.version).toBe(v3);
    expect(
      history.entries.map((entry) => [entry.version, entry.latest, entry.pinned, entry.published]),
    ).toEqual([
      [v3, true, false, true],
      [v2, false, false, true],
      [v1, false, true, true],
      [orphan, false, false, false],
    ]);
    expect(history.entries[0]?.generation).toBe(3);
    expect(history.entries[1]).toMatchObject({
      sha256: sha256('catalog v2'),
      size: 'catalog v2'.length,
    });
    expect(history.entries[3]?.sha256).toBeNull();
  });

  it('orders history by when the store recorded each version, not by the uploaders’ clocks', async () => {
    const t = await deployment();
    const tomorrow = new Date(Date.now() + 86_400_000);
    const fast = await refreshState({
      project: t.project,
      openStore: t.openStore,
      keys: ['cat'],
      commitDelayMs: 0,
      now: () => tomorrow,
    });
    t.content.cat = 'catalog v2';
    const [later] = await versionsOf(t, 1, 'catalog v2');
    const history = await readHistory(t.store, 'cat');
    expect(history.entries.map((entry) => entry.version)).toEqual([
      later,
      fast.results[0]?.info?.version,
    ]);
    expect(history.latest?.version).toBe(later);
  });

  it('rolls back by compare-and-swap, refusing unknown and unpublished versions', async () => {
    const t = await deployment();
    const [v1, , v3] = await versionsOf(t, 3);
    const result = await rollbackState(t.store, 'cat', v1 as string);
    expect(result.previous?.version).toBe(v3);
    expect(result.current.version).toBe(v1);
    expect(result.current.generation).toBe(4);
    expect((await pointerKeys(t.store)).cat?.version).toBe(v1);
    expect(await t.text('cat')).toBe('catalog v1');

    const unknown = createStateVersion();
    await expect(rollbackState(t.store, 'cat', unknown)).rejects.toThrow(StateNotFoundError);
    await expect(rollbackState(t.store, 'cat', 'yesterday')).rejects.toThrow(UsageError);
    const orphan = createStateVersion();
    await t.store.put(stateObjectName('cat', orphan), 'half a refresh');
    await expect(rollbackState(t.store, 'cat', orphan)).rejects.toThrow(/never finished/);
  });

  it('loses no concurrent update to a key of the same pointer shard while rolling back', async () => {
    const t = await deployment();
    const [v1] = await versionsOf(t, 2);
    const neighbour = keyInShardOf('cat');
    const neighbourProject = project(t.root, [
      component(neighbour, 'versioned', ({ statePath }) => writeFile(statePath, content)),
    ]);
    let content = 'neighbour 0';
    const shard = pointerShardName(shardOf('cat', DEFAULT_POINTER_SHARDS));
    // Another writer commits to the same shard between every read and write of the rollback's
    // first attempts, so each of them loses its compare-and-swap and must decide again.
    let interleaved = 0;
    const racing = intercept(t.store, {
      put: async (name, body, options) => {
        if (name === shard && options?.ifMatch && interleaved < 3) {
          interleaved++;
          content = `neighbour ${interleaved}`;
          await refreshState({
            project: neighbourProject,
            openStore: t.openStore,
            commitDelayMs: 0,
          });
        }
        return t.store.put(name, body, options);
      },
    });
    await rollbackState(racing, 'cat', v1 as string);
    expect(interleaved).toBe(3);
    const keys = await pointerKeys(t.store);
    expect(keys.cat?.version).toBe(v1);
    expect(keys[neighbour]?.sha256).toBe(sha256('neighbour 3'));
    expect(keys[neighbour]?.generation).toBe(3);
  });

  it('prunes beyond keep, never the latest or a pinned version, and collects old orphans', async () => {
    const t = await deployment();
    await t.refresh({ keys: ['flags'] });
    const versions = await versionsOf(t, 6);
    const [v1, v2, v3, v4, v5, v6] = versions as [string, string, string, string, string, string];
    await rollbackState(t.store, 'cat', v2); // latest is now an old version
    const pins = [{ keys: { cat: { version: v3 } } }] as unknown as PinFile[];
    const oldOrphan = createStateVersion(new Date(Date.now() - 7_200_000));
    const youngOrphan = createStateVersion();
    await t.store.put(stateObjectName('cat', oldOrphan), 'crashed');
    await backdate(t.store, stateObjectName('cat', oldOrphan), 2 * 86_400_000);
    await t.store.put(stateObjectName('cat', youngOrphan), 'still running');
    // Two hours on, by the store's clock: past the record grace, within the orphan grace.
    const now = new Date(Date.now() + 7_200_000);

    const leaseBefore = await t.store.head('lease/maintenance.json');
    const plan = await pruneState(t.store, { keys: ['cat'], keep: 2, pins, dryRun: true, now });
    const planned = plan.deleted.map((candidate) => [candidate.version, candidate.reason]);
    expect(planned.sort()).toEqual(
      [
        [v1, 'superseded'],
        [v4, 'superseded'],
        [oldOrphan, 'orphan'],
      ].sort(),
    );
    expect(plan.freedBytes).toBe('catalog v1'.length + 'catalog v4'.length + 'crashed'.length);
    // A dry run deletes nothing, and takes no lease.
    expect((await readHistory(t.store, 'cat')).entries).toHaveLength(8);
    expect((await t.store.head('lease/maintenance.json'))?.etag).toBe(leaseBefore?.etag);

    const done = await pruneState(t.store, { keys: ['cat'], keep: 2, pins, now });
    expect(done.deleted).toHaveLength(3);
    expect(done.keptCount).toBe(5);
    const left = (await readHistory(t.store, 'cat')).entries.map((entry) => entry.version);
    expect(left.sort()).toEqual([v2, v3, v5, v6, youngOrphan].sort());
    // Deleted versions leave no published record behind.
    const records = await objectNames(t.store, 'published/');
    expect(records.some((name) => name.includes(v1) || name.includes(v4))).toBe(false);
    // Other keys are untouched.
    expect((await readHistory(t.store, 'flags')).entries).toHaveLength(1);
  });

  it('never deletes a version recorded within the record grace, whatever keep says', async () => {
    const t = await deployment();
    await versionsOf(t, 4);
    const report = await pruneState(t.store, { keys: ['cat'], keep: 1 });
    expect(report.deleted).toEqual([]);
    expect((await readHistory(t.store, 'cat')).entries).toHaveLength(4);
  });

  it('keeps versions younger than --older-than, and writes a missing record of the latest', async () => {
    const t = await deployment();
    const versions = await versionsOf(t, 3);
    const latest = (await pointerKeys(t.store)).cat;
    await t.store.delete(publishedRecordName(latest as never));
    const twoHoursOn = new Date(Date.now() + 7_200_000);
    const young = await pruneState(t.store, {
      keys: ['cat'],
      keep: 1,
      olderThanMs: 3 * 3_600_000,
      now: twoHoursOn,
    });
    expect(young.deleted).toEqual([]);
    expect(await objectNames(t.store, publishedRecordName(latest as never))).toHaveLength(1);
    const later = await pruneState(t.store, {
      keys: ['cat'],
      keep: 1,
      olderThanMs: 3 * 3_600_000,
      now: new Date(Date.now() + 4 * 3_600_000),
    });
    expect(later.deleted.map((candidate) => candidate.version).sort()).toEqual(
      versions.slice(0, 2).sort(),
    );
    await expect(pruneState(t.store, { keys: ['cat'], keep: 0 })).rejects.toThrow(UsageError);
  });

  it('keeps a record whose object a racing listing missed, and a young upload with an old id', async () => {
    const t = await deployment();
    const versions = await versionsOf(t, 2);
    const newest = versions[1] as string;
    const now = new Date(Date.now() + 7_200_000);
    // The states/ listing misses the newest version, as if the refresh landed between listings.
    const racing = intercept(t.store, {
      list: async (prefix, options) => {
        const page = await t.store.list(prefix, options);
        if (!prefix.startsWith('states/')) return page;
        return { ...page, items: page.items.filter((item) => !item.name.endsWith(newest)) };
      },
    });
    await pruneState(racing, { keys: ['cat'], keep: 5, now });
    expect(
      (await readHistory(t.store, 'cat')).entries.find((e) => e.version === newest)?.published,
    ).toBe(true);

    // A version id two days old on an object written just now (the uploader's clock is behind):
    // by the store's clock it is young and may belong to a refresh still running.
    const skewed = createStateVersion(new Date(Date.now() - 2 * 86_400_000));
    await t.store.put(stateObjectName('cat', skewed), 'still uploading');
    const report = await pruneState(t.store, { keys: ['cat'], keep: 5 });
    expect(report.deleted).toEqual([]);
  });

  it('never lets a rollback and a prune interleave: the second waits for the lease', async () => {
    const t = await deployment();
    const [v1] = (await versionsOf(t, 3)) as [string, string, string];
    const now = new Date(Date.now() + 7_200_000);
    let rollback: Promise<unknown> | undefined;
    // The rollback to v1 starts while the prune is deleting v1.
    const pausing = intercept(t.store, {
      delete: async (name, options) => {
        if (name === stateObjectName('cat', v1) && !rollback) {
          rollback = rejection(rollbackState(t.store, 'cat', v1));
          await delay(300);
        }
        return t.store.delete(name, options);
      },
    });
    const pruned = await pruneState(pausing, { keys: ['cat'], keep: 1, now });
    expect(pruned.deleted.map((candidate) => candidate.version)).toContain(v1);
    // It waited for the prune, then found v1 gone: latest never names a deleted version.
    const error = await rollback;
    expect(error).toBeInstanceOf(StateNotFoundError);
    expect((error as Error).message).toMatch(/has no version|is gone/);
    const latest = (await pointerKeys(t.store)).cat;
    expect(await t.store.head(stateObjectName('cat', latest?.version as string))).toBeDefined();
  });

  it('fails a second maintenance operation past its wait, naming the holder', async () => {
    const t = await deployment();
    const [v1] = (await versionsOf(t, 2)) as [string, string];
    let failure: unknown;
    const holding = intercept(t.store, {
      list: async (prefix, options) => {
        failure ??= await rejection(rollbackState(t.store, 'cat', v1, { leaseWaitMs: 300 }));
        return t.store.list(prefix, options);
      },
    });
    await pruneState(holding, { keys: ['cat'], keep: 5 });
    expect(failure).toBeInstanceOf(LeaseError);
    expect((failure as Error).message).toMatch(
      new RegExp(`held by prune \\(process ${process.pid} on .+, since .+\\)`),
    );
    expect((failure as Error).message).toMatch(/expires 30 s after its holder's last heartbeat/);
  });

  it('spares a version that became latest or pinned while the prune was deciding', async () => {
    const t = await deployment();
    const [v1, v2, v3] = (await versionsOf(t, 4)) as [string, string, string, string];
    const now = new Date(Date.now() + 7_200_000);
    const shard = pointerShardName(shardOf('cat', DEFAULT_POINTER_SHARDS));
    const old = (await readHistory(t.store, 'cat')).entries.find((entry) => entry.version === v1);
    const v1Info: StateInfo = {
      key: 'cat',
      management: 'versioned',
      version: v1,
      createdAt: old?.createdAt as string,
      sha256: old?.sha256 as string,
      size: old?.size as number,
    };
    // After the plan, before the deletes: a writer that holds no lease (an older defstate) moves
    // latest back to v1, and a deploy pins v2.
    let reads = 0;
    const racing = intercept(t.store, {
      get: async (name, options) => {
        if (name === shard && ++reads === 2) {
          await updatePointer(t.store, [
            { key: 'cat', decide: () => ({ action: 'set', info: v1Info, result: 0 }) },
          ]);
        }
        return (t.store as BlobStore).get(name, options);
      },
    });
    const pinnedLater = [{ keys: { cat: { version: v2 } } }] as unknown as PinFile[];
    const report = await pruneState(racing, {
      keys: ['cat'],
      keep: 1,
      now,
      reloadPins: async () => pinnedLater,
    });
    expect(report.deleted.map((candidate) => candidate.version)).toEqual([v3]);
    const left = (await readHistory(t.store, 'cat')).entries.map((entry) => entry.version);
    expect(left).toEqual(expect.arrayContaining([v1, v2]));
  });
});
