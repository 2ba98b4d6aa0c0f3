import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BlobStore,
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  findUndeclaredKeys,
  forgetState,
  listAll,
  loadState,
  type PinFile,
  pruneState,
  readHistory,
  readStatus,
  refreshState,
  type StateInfo,
  StateNotFoundError,
  shardOf,
  UsageError,
  verifyState,
  writePins,
} from '../src/index.js';
import { component, pointerKeys, project, useTempDir } from './helpers.js';

/**
 * A project that declared `kept` and `gone` and refreshed both, then stopped declaring `gone`;
 * `neighbour` shares `gone`'s pointer shard, so a removal that lost it would show.
 */
async function storeWithUndeclared() {
  const root = await useTempDir('undeclared');
  const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
  const shard = shardOf('gone', DEFAULT_POINTER_SHARDS);
  let index = 0;
  while (shardOf(`neighbour-${index}`, DEFAULT_POINTER_SHARDS) !== shard) index++;
  const neighbour = `neighbour-${index}`;
  const content: Record<string, string> = { gone: 'gone v1' };
  const write =
    (key: string) =>
    ({ statePath }: { statePath: string }) =>
      writeFile(statePath, content[key] ?? `state of ${key}`);
  const before = project(
    root,
    ['kept', 'gone', neighbour].map((key) => component(key, 'versioned', write(key))),
  );
  const refresh = (keys?: string[]) =>
    refreshState({ project: before, keys, openStore: async () => store, commitDelayMs: 0 });
  await refresh();
  const after = project(root, [component('kept', 'versioned', write('kept'))]);
  return { root, store, before, after, neighbour, content, refresh };
}

/** Sets the modification time of every object under `prefix` `ms` into the past. */
async function age(store: FileBlobStore, prefix: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  for await (const item of listAll(store, prefix)) {
    await utimes(await store.pathOf(item.name), then, then);
  }
}

const DAY = 86_400_000;

describe('undeclared keys', () => {
  it('are listed by status and verify, as a warning that does not fail the check', async () => {
    const t = await storeWithUndeclared();
    const openStore = async () => t.store;
    const status = await readStatus(t.after, { openStore, undeclared: true });
    expect(status.keys.map(({ key }) => key)).toEqual(['kept']);
    expect(status.undeclared?.map(({ key }) => key)).toEqual(['gone', t.neighbour].sort());
    // Without asking, only the declared keys' shards are read, and nothing is said.
    expect((await readStatus(t.after, { openStore })).undeclared).toBeUndefined();

    const verified = await verifyState(t.after, { openStore, undeclared: true });
    expect(verified.ok).toBe(true);
    expect(verified.warnings.map(({ key, code }) => [key, code])).toEqual(
      ['gone', t.neighbour].sort().map((key) => [key, 'undeclared']),
    );
  });

  it('forget moves keys out of the pointer under the lease; versions and pins still load', async () => {
    const t = await storeWithUndeclared();
    const gone = (await pointerKeys(t.store)).gone;
    const forgotten = await forgetState(t.store, ['gone', 'never-there']);
    expect(forgotten).toEqual([
      { key: 'gone', status: 'forgotten', previous: gone },
      { key: 'never-there', status: 'absent' },
    ]);
    const keys = Object.keys(await pointerKeys(t.store)).sort();
    expect(keys).toEqual(['kept', t.neighbour].sort());
    // The lease was taken (and released) by the forget.
    const lease = JSON.parse(
      await (await t.store.get('lease/maintenance.json')).body
        .toArray()
        .then((chunks) => Buffer.concat(chunks).toString()),
    );
    expect(lease).toMatchObject({ operation: 'forget', released: true });
    // Versions stay: history lists it, and a pin that names it still loads.
    expect((await readHistory(t.store, 'gone')).entries.map(({ version }) => version)).toEqual([
      gone?.version,
    ]);
    const cacheDir = await useTempDir('cache');
    const load = (options: { ignorePins?: boolean } = {}) =>
      loadState('gone', { projectRoot: t.root, store: t.store, cacheDir, ...options });
    await expect(load({ ignorePins: true })).rejects.toBeInstanceOf(StateNotFoundError);
    await writePins(t.root, [gone as StateInfo]);
    expect((await load()).version).toBe(gone?.version);
    // Forgetting again finds nothing; a refresh brings the key back, as a new version.
    expect(await forgetState(t.store, ['gone'])).toEqual([{ key: 'gone', status: 'absent' }]);
    await t.refresh(['gone']);
    expect((await pointerKeys(t.store)).gone?.sha256).toBe(gone?.sha256);
  });

  it('are found in the pointer and, once forgotten, by their published records', async () => {
    const t = await storeWithUndeclared();
    await forgetState(t.store, ['gone']);
    expect(await findUndeclaredKeys(t.store, ['kept'])).toEqual(['gone', t.neighbour].sort());
    expect(await findUndeclaredKeys(t.store, ['kept', 'gone', t.neighbour])).toEqual([]);
  });

  it('prune --undeclared needs an age, and leaves alone a key stored within it', async () => {
    const t = await storeWithUndeclared();
    await expect(
      pruneState(t.store, { keys: ['gone'], keep: 0, undeclared: true }),
    ).rejects.toBeInstanceOf(UsageError);
    const report = await pruneState(t.store, {
      keys: ['gone'],
      keep: 0,
      undeclared: true,
      olderThanMs: 30 * DAY,
    });
    expect(report).toMatchObject({ deleted: [], forgotten: [] });
    expect((await pointerKeys(t.store)).gone).toBeDefined();
  });

  it('prune --undeclared collects an old key whole, pointer entry first, and keeps pins', async () => {
    const t = await storeWithUndeclared();
    t.content.gone = 'gone v2';
    await t.refresh(['gone']);
    const [v2, v1] = (await readHistory(t.store, 'gone')).entries.map(({ version }) => version);
    await age(t.store, 'states/gone/', 40 * DAY);
    await age(t.store, 'published/gone/', 40 * DAY);
    const options = { keys: ['gone'], keep: 0, undeclared: true, olderThanMs: 30 * DAY };

    const plan = await pruneState(t.store, { ...options, dryRun: true });
    expect(plan.forgotten).toEqual(['gone']);
    expect(plan.deleted.map(({ version }) => version).sort()).toEqual([v1, v2].sort());
    expect((await pointerKeys(t.store)).gone?.version).toBe(v2);

    const pins = [{ keys: { gone: { version: v1 } } }] as unknown as PinFile[];
    const done = await pruneState(t.store, { ...options, pins });
    expect(done.forgotten).toEqual(['gone']);
    expect(done.deleted.map(({ version }) => version)).toEqual([v2]);
    expect((await pointerKeys(t.store)).gone).toBeUndefined();
    expect((await readHistory(t.store, 'gone')).entries.map(({ version }) => version)).toEqual([
      v1,
    ]);
    // The neighbour in the same shard kept its entry.
    expect((await pointerKeys(t.store))[t.neighbour]).toBeDefined();
  });

  it('prune --undeclared leaves alone a key that a refresh moved on before its removal', async () => {
    const t = await storeWithUndeclared();
    await age(t.store, 'states/gone/', 40 * DAY);
    await age(t.store, 'published/gone/', 40 * DAY);
    const v1 = (await pointerKeys(t.store)).gone?.version;
    // Between the plan and the removal, a branch that still declares the key refreshes it.
    let moved = false;
    const base: BlobStore = t.store;
    const racing: BlobStore = {
      adapter: base.adapter,
      location: base.location,
      capabilities: base.capabilities,
      get: (...args) => base.get(...args),
      head: (...args) => base.head(...args),
      list: (...args) => base.list(...args),
      delete: (...args) => base.delete(...args),
      put: async (name, body, options) => {
        if (!moved && name.startsWith('pointer/')) {
          moved = true;
          t.content.gone = 'gone from another branch';
          await t.refresh(['gone']);
        }
        return t.store.put(name, body, options);
      },
    };
    const report = await pruneState(racing, {
      keys: ['gone'],
      keep: 0,
      undeclared: true,
      olderThanMs: 30 * DAY,
    });
    expect(moved).toBe(true);
    expect(report).toMatchObject({ deleted: [], forgotten: [] });
    const latest = (await pointerKeys(t.store)).gone?.version;
    expect(latest).toBeDefined();
    expect(latest).not.toBe(v1);
    expect((await readHistory(t.store, 'gone')).entries).toHaveLength(2);
  });
});
