import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  acceptLostUpdatesFor,
  type BlobStore,
  ConfigError,
  ConflictError,
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  LAYOUT_OBJECT,
  listAll,
  openStore,
  type PointerChange,
  type PointerEntry,
  PreconditionFailedError,
  pointerShardName,
  prepareStoreForWrites,
  proveConditionalWrites,
  readPointer,
  readText,
  refreshState,
  resolveStorage,
  STATE_INFO_OBJECT,
  StateInfoDocumentSchema,
  StorageError,
  shardOf,
  TransientError,
  updatePointer,
} from '../src/index.js';
import { component, fakeRuntime, project, rejection, stateInfo, useTempDir } from './helpers.js';

async function newStore(): Promise<FileBlobStore> {
  return new FileBlobStore(join(await useTempDir('pointer'), 'store'));
}

/** A change that sets the key to `info` unless it already holds that version. */
function setTo(info: ReturnType<typeof stateInfo>): PointerChange<string> {
  return {
    key: info.key,
    decide: (current: PointerEntry | undefined) =>
      current?.version === info.version
        ? { action: 'keep', result: 'kept' }
        : { action: 'set', info, result: 'set' },
  };
}

async function settledValues<R>(promise: Promise<PromiseSettledResult<R>[]>): Promise<R[]> {
  return (await promise).map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}

/** The store with `put` replaced; every other method passes through. */
function withPut(store: BlobStore, put: BlobStore['put']): BlobStore {
  return {
    adapter: store.adapter,
    location: store.location,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    capabilities: store.capabilities,
    get: (...args) => store.get(...args),
    head: (...args) => store.head(...args),
    list: (...args) => store.list(...args),
    delete: (...args) => store.delete(...args),
    put,
  };
}

describe('pointer generations', () => {
  it('gives each commit of a key the previous generation + 1, in the order the store took them', async () => {
    const store = await newStore();
    const first = stateInfo('k', { at: new Date('2030-01-01T00:00:00Z') });
    // The second commit carries a version id from a clock years behind: it still comes after.
    const second = stateInfo('k', { at: new Date('2001-01-01T00:00:00Z') });
    const [a] = await settledValues(updatePointer(store, [setTo(first)]));
    const [b] = await settledValues(updatePointer(store, [setTo(second)]));
    expect(a?.entry?.generation).toBe(1);
    expect(b?.entry?.generation).toBe(2);
    expect((await readPointer(store)).entries.get('k')).toEqual({ ...second, generation: 2 });
  });

  it('keeps keys in their shards and reads only the shards asked for', async () => {
    const store = await newStore();
    const infos = Array.from({ length: 40 }, (_, index) => stateInfo(`key-${index}`));
    await settledValues(updatePointer(store, infos.map(setTo)));
    const names: string[] = [];
    for await (const item of listAll(store, 'pointer/')) names.push(item.name);
    const shards = new Set(
      infos.map((info) => pointerShardName(shardOf(info.key, DEFAULT_POINTER_SHARDS))),
    );
    expect(names.sort()).toEqual([...shards].sort());
    const one = await readPointer(store, { keys: ['key-7'] });
    expect([...one.entries.keys()]).toEqual(['key-7']);
    expect((await readPointer(store)).entries.size).toBe(40);
  });
});

describe('pointer compare-and-swap', () => {
  it('re-reads and decides again after losing a race, keeping the other writer’s key', async () => {
    const store = await newStore();
    const mine = stateInfo('mine');
    // Another key of the same shard, committed between this writer's read and its write.
    const shard = shardOf('mine', DEFAULT_POINTER_SHARDS);
    let other = 'other-0';
    for (let index = 0; shardOf(other, DEFAULT_POINTER_SHARDS) !== shard; index++)
      other = `other-${index}`;
    await prepareStoreForWrites(store);
    let raced = false;
    const racing = withPut(store, async (name, body, options) => {
      if (name === pointerShardName(shard) && !raced) {
        raced = true;
        await settledValues(updatePointer(store, [setTo(stateInfo(other))]));
      }
      return store.put(name, body, options);
    });
    const decided: (string | undefined)[] = [];
    await settledValues(
      updatePointer(racing, [
        {
          key: 'mine',
          decide: (current) => {
            decided.push(current?.version);
            return { action: 'set', info: mine, result: undefined };
          },
        },
      ]),
    );
    expect(decided).toHaveLength(2);
    const entries = (await readPointer(store)).entries;
    expect(entries.get('mine')?.version).toBe(mine.version);
    expect(entries.get(other)).toBeDefined();
  });

  it('treats throttling as contention: backs off and keeps trying past three attempts', async () => {
    const store = await newStore();
    await prepareStoreForWrites(store);
    let refused = 0;
    const throttled = withPut(store, async (name, body, options) => {
      if (name.startsWith('pointer/') && refused < 8) {
        refused++;
        throw new TransientError('429 Too Many Requests: slow down');
      }
      return store.put(name, body, options);
    });
    const runtime = fakeRuntime();
    const [outcome] = await settledValues(
      updatePointer(throttled, [setTo(stateInfo('k'))], { runtime }),
    );
    expect(outcome?.written).toBe(true);
    expect(refused).toBe(8);
    expect(runtime.delays).toHaveLength(8);
  });

  it('recognises its own write when the answer was lost, and writes nothing more', async () => {
    const store = await newStore();
    await prepareStoreForWrites(store);
    const info = stateInfo('k');
    let writes = 0;
    const lossy = withPut(store, async (name, body, options) => {
      const result = await store.put(name, body, options);
      if (name.startsWith('pointer/') && ++writes === 1)
        throw new TransientError('connection reset');
      return result;
    });
    const [outcome] = await settledValues(
      updatePointer(
        lossy,
        [
          {
            key: 'k',
            // Decided afresh against its own landed write, this would say "already there".
            decide: (current) =>
              current?.sha256 === info.sha256
                ? { action: 'keep', result: 'unchanged' }
                : { action: 'set', info, result: 'refreshed' },
          },
        ],
        { runtime: fakeRuntime() },
      ),
    );
    expect(outcome).toMatchObject({ result: 'refreshed', written: true });
    expect(outcome?.entry?.generation).toBe(1);
    expect(writes).toBe(1);
  });

  it('gives up with ConflictError only at its deadline, and fails only that shard’s changes', async () => {
    const store = await newStore();
    await prepareStoreForWrites(store);
    const contested = shardOf('contested', DEFAULT_POINTER_SHARDS);
    let calm = 'calm';
    for (let index = 0; shardOf(calm, DEFAULT_POINTER_SHARDS) === contested; index++)
      calm = `calm-${index}`;
    const losing = withPut(store, async (name, body, options) => {
      if (name === pointerShardName(contested)) throw new PreconditionFailedError(name);
      return store.put(name, body, options);
    });
    const settled = await updatePointer(
      losing,
      [setTo(stateInfo('contested')), setTo(stateInfo(calm))],
      {
        timeoutMs: 50,
        runtime: fakeRuntime(),
      },
    );
    expect(settled[0]?.status).toBe('rejected');
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(settled[1]?.status).toBe('fulfilled');
  });
});

describe('store layout', () => {
  it('refuses a layout newer than it knows, saying to upgrade', async () => {
    const store = await newStore();
    await store.put(LAYOUT_OBJECT, JSON.stringify({ schemaVersion: 3, pointer: { shards: 4 } }));
    const error = await rejection(readPointer(store));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toMatch(
      /pointer layout 3, newer than this defstate knows.*\n.*Upgrade defstate/s,
    );
  });

  it('writes the stub before the manifest, and the stub stops a first-layout reader', async () => {
    const store = await newStore();
    await settledValues(updatePointer(store, [setTo(stateInfo('k'))]));
    const stub = JSON.parse((await readText(store, STATE_INFO_OBJECT)).text);
    // What a reader of the first layout does with it: refuse, and (its hint) upgrade.
    expect(StateInfoDocumentSchema.safeParse(stub).success).toBe(false);
    expect(stub.schemaVersion).toBe(2);
    const manifest = JSON.parse((await readText(store, LAYOUT_OBJECT)).text);
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      pointer: { shards: DEFAULT_POINTER_SHARDS, hash: 'sha256-u32be-mod' },
      conditionalWrites: { endpoint: store.endpoint },
    });
  });
});

describe('preparing a store', () => {
  it('retries a write of the layout that fails for a moment', async () => {
    const store = await newStore();
    let failures = 0;
    const flaky = withPut(store, async (name, body, options) => {
      if ((name === STATE_INFO_OBJECT || name === LAYOUT_OBJECT) && failures < 4) {
        failures++;
        throw new TransientError(`502 Bad Gateway on ${name}`);
      }
      return store.put(name, body, options);
    });
    expect(await prepareStoreForWrites(flaky)).toEqual({ shards: DEFAULT_POINTER_SHARDS });
    expect(failures).toBe(4);
    expect(await store.head(LAYOUT_OBJECT)).toBeDefined();
  });

  it('is done when another writer created the layout while every write of ours was throttled', async () => {
    // Many writers preparing an empty store at once: a store that allows one mutation per second
    // per object throttles all of them but the one that creates it, for longer than a retry lasts.
    const store = await newStore();
    let throttled = 0;
    const crowded = withPut(store, async (name, body, options) => {
      if (name === STATE_INFO_OBJECT || name === LAYOUT_OBJECT) {
        // The other writer: it prepares the store, then this write is refused, as are all after.
        if (throttled++ === 0) await prepareStoreForWrites(store);
        throw new TransientError(`429 rateLimitExceeded on ${name}`);
      }
      return store.put(name, body, options);
    });
    expect(await prepareStoreForWrites(crowded)).toEqual({ shards: DEFAULT_POINTER_SHARDS });
    expect(throttled).toBeGreaterThan(1);
  }, 30_000);
});

describe('upgrading a store of the first layout', () => {
  /** A store as earlier versions left it: one state-info.json for every key. */
  async function legacyStore(keys: string[]) {
    const store = await newStore();
    const infos = keys.map((key) => stateInfo(key));
    const document = {
      schemaVersion: 1,
      updatedAt: new Date().toISOString(),
      keys: Object.fromEntries(infos.map((info) => [info.key, info])),
    };
    await store.put(STATE_INFO_OBJECT, `${JSON.stringify(document, null, 2)}\n`);
    return { store, infos };
  }

  it('reads it as it is, without writing', async () => {
    const { store, infos } = await legacyStore(['a', 'b']);
    const snapshot = await readPointer(store);
    expect(snapshot.layout).toBe('legacy');
    expect(Object.fromEntries(snapshot.entries)).toEqual(
      Object.fromEntries(infos.map((info) => [info.key, info])),
    );
    expect(await store.head(LAYOUT_OBJECT)).toBeUndefined();
  });

  it('is upgraded in place by the first writer, keeping every key, with a pointer at every moment', async () => {
    const { store, infos } = await legacyStore(['a', 'b', 'c']);
    // A reader looks at the pointer around every write of the upgrade.
    const seen: number[] = [];
    const watched = withPut(store, async (name, body, options) => {
      seen.push((await readPointer(store)).entries.size);
      const result = await store.put(name, body, options);
      seen.push((await readPointer(store)).entries.size);
      return result;
    });
    const d = stateInfo('d');
    await settledValues(updatePointer(watched, [setTo(d)]));
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(3);
    const snapshot = await readPointer(store);
    expect(snapshot.layout).toBe('sharded');
    expect([...snapshot.entries.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const info of infos)
      expect(snapshot.entries.get(info.key)).toEqual({ ...info, generation: 1 });
    const manifest = JSON.parse((await readText(store, LAYOUT_OBJECT)).text);
    expect(manifest.upgradedFrom).toBe('state-info.json');
  });

  it('carries over a commit an older version made to the old document during the upgrade', async () => {
    const { store } = await legacyStore(['a', 'b']);
    const late = stateInfo('b');
    let interfered = false;
    const racing = withPut(store, async (name, body, options) => {
      if (name === STATE_INFO_OBJECT && options?.ifMatch && !interfered) {
        interfered = true;
        // An older defstate commits `b` to the first layout's document, as it always did.
        const { text, etag } = await readText(store, STATE_INFO_OBJECT);
        const document = JSON.parse(text);
        document.keys.b = late;
        await store.put(STATE_INFO_OBJECT, JSON.stringify(document), { ifMatch: etag });
      }
      return store.put(name, body, options);
    });
    await settledValues(updatePointer(racing, [setTo(stateInfo('c'))]));
    expect(interfered).toBe(true);
    const entries = (await readPointer(store)).entries;
    expect(entries.get('b')).toEqual({ ...late, generation: 2 });
    expect([...entries.keys()].sort()).toEqual(['a', 'b', 'c']);
  });

  it('is upgraded by a refresh, and its keys refresh as before', async () => {
    const root = await useTempDir('project');
    const { store } = await legacyStore(['kept']);
    const report = await refreshState({
      project: project(root, [component('fresh', 'versioned', 'fresh state')]),
      openStore: async () => store,
      commitDelayMs: 0,
    });
    expect(report.ok).toBe(true);
    expect([...(await readPointer(store)).entries.keys()].sort()).toEqual(['fresh', 'kept']);
  });
});

describe('stores that ignore conditional writes', () => {
  /** A store that drops both conditions, as a proxy that strips the headers would. */
  function unconditional(store: BlobStore): BlobStore {
    return withPut(store, (name, body, options = {}) => {
      const { ifMatch: _match, ifNoneMatch: _none, ...rest } = options;
      return store.put(name, body, rest);
    });
  }

  it('refuses to write to one, naming its endpoint, and writes no pointer', async () => {
    const store = await newStore();
    const error = await rejection(updatePointer(unconditional(store), [setTo(stateInfo('k'))]));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(store.endpoint as string);
    expect(error.message).toMatch(/ignores create-only writes/);
    expect(error.message).toMatch(/DEFSTATE_ACCEPT_LOST_UPDATES/);
    const names: string[] = [];
    for await (const item of listAll(store, '')) names.push(item.name);
    expect(names).toEqual([]);
  });

  it('writes with a warning when lost updates are accepted, and records that in the manifest', async () => {
    const store = await newStore();
    process.env.DEFSTATE_ACCEPT_LOST_UPDATES = '1';
    onTestFinished(() => {
      delete process.env.DEFSTATE_ACCEPT_LOST_UPDATES;
    });
    const warnings: string[] = [];
    const listener = (warning: Error) => warnings.push(warning.message);
    process.on('warning', listener);
    onTestFinished(() => {
      process.off('warning', listener);
    });
    await settledValues(updatePointer(unconditional(store), [setTo(stateInfo('k'))]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.join('\n')).toMatch(/ignores create-only writes.*lost updates are accepted/s);
    const manifest = JSON.parse((await readText(store, LAYOUT_OBJECT)).text);
    expect(manifest.conditionalWrites).toMatchObject({ waived: true });
  });

  it('writes to one whose instance config accepts lost updates (accept_lost_updates: true)', async () => {
    const home = await useTempDir('home');
    await writeFile(
      join(home, 'defstate.yaml'),
      'state_storage:\n  adapter: file\n  options: { path: store }\n  accept_lost_updates: true\n',
    );
    const selection = await resolveStorage({ env: { DEFSTATE_HOME: home }, cwd: home });
    expect(selection.acceptLostUpdates).toBe(true);
    const opened = await openStore(selection, { projectRoot: home, env: {} });
    // What openStore does for such a config, on a store behind a proxy that drops conditions.
    const store = unconditional(opened);
    acceptLostUpdatesFor(store);
    await settledValues(updatePointer(store, [setTo(stateInfo('k'))]));
    expect((await readPointer(opened)).entries.get('k')).toBeDefined();
  });

  it('proves a good store through throttling and lost answers, and refuses a bad one all the same', async () => {
    /** Every other write's answer is lost after it applied; a second write of a name within
     * 300 ms is refused with 429, as Cloud Storage refuses more than one per second. */
    const flaky = (inner: BlobStore) => {
      const last = new Map<string, number>();
      let writes = 0;
      return withPut(inner, async (name, body, options) => {
        const now = performance.now();
        if (now - (last.get(name) ?? Number.NEGATIVE_INFINITY) < 300) {
          throw new TransientError(`429 rateLimitExceeded on ${name}`);
        }
        last.set(name, now);
        const result = await inner.put(name, body, options);
        if (writes++ % 2 === 0) throw new TransientError(`connection reset after writing ${name}`);
        return result;
      });
    };
    await expect(proveConditionalWrites(flaky(await newStore()))).resolves.toBeUndefined();
    const error = await rejection(proveConditionalWrites(flaky(unconditional(await newStore()))));
    expect(error).toBeInstanceOf(ConfigError);
  });

  it('waits out a store that allows one write per second to an object, however many probe at once', async () => {
    // Each probe writes its own object four times in a row; Cloud Storage refuses a second
    // mutation of an object within a second. Short backoffs can spend every retry inside that
    // second, so 24 processes probing at once lost one of them now and then.
    const throttled = (inner: BlobStore) => {
      const last = new Map<string, number>();
      return withPut(inner, async (name, body, options) => {
        const now = performance.now();
        if (now - (last.get(name) ?? Number.NEGATIVE_INFINITY) < 1000) {
          throw new TransientError(`429 rateLimitExceeded on ${name}`);
        }
        last.set(name, now);
        return inner.put(name, body, options);
      });
    };
    const store = throttled(await newStore());
    const probes = Array.from({ length: 24 }, () => proveConditionalWrites(store));
    const failures = (await Promise.allSettled(probes)).filter((p) => p.status === 'rejected');
    expect(failures).toEqual([]);
  });

  it('proves a store once: a second process through the same endpoint does not probe again', async () => {
    const dir = join(await useTempDir('pointer'), 'store');
    await settledValues(updatePointer(new FileBlobStore(dir), [setTo(stateInfo('a'))]));
    let probes = 0;
    const second = new FileBlobStore(dir);
    const counted = withPut(second, (name, body, options) => {
      if (name.startsWith('probe/')) probes++;
      return second.put(name, body, options);
    });
    await settledValues(updatePointer(counted, [setTo(stateInfo('b'))]));
    expect(probes).toBe(0);
  });
});

describe('the file store as an old one', () => {
  it('keeps working on a store folder written before the current file naming', async () => {
    const dir = join(await useTempDir('pointer'), 'store');
    await mkdir(dir, { recursive: true });
    const info = stateInfo('Old Key');
    const document = {
      schemaVersion: 1,
      updatedAt: new Date().toISOString(),
      keys: { [info.key]: info },
    };
    await writeFile(join(dir, 'state-info.json'), JSON.stringify(document));
    const store = new FileBlobStore(dir);
    expect((await readPointer(store)).entries.get('Old Key')).toEqual(info);
    await settledValues(updatePointer(store, [setTo(stateInfo('New Key'))]));
    expect([...(await readPointer(store)).entries.keys()].sort()).toEqual(['New Key', 'Old Key']);
  });
});
