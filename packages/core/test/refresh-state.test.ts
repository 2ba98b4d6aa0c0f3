import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  type BlobStore,
  type Component,
  ConfigError,
  DEFAULT_POINTER_SHARDS,
  FileBlobStore,
  hashFile,
  IntegrityError,
  LOCAL_STATE_DIR,
  listAll,
  localStatePaths,
  pointerShardName,
  publishedRecordName,
  type RefreshEvent,
  RefreshFailedError,
  type RefreshStateOptions,
  readLastRefresh,
  readLocalStateInfo,
  readText,
  refreshState,
  STATES_PREFIX,
  type StateInfo,
  StorageError,
  shardOf,
  stateObjectName,
  TimeoutError,
  UsageError,
  uploadStateVersion,
} from '../src/index.js';
import {
  component,
  countingStore,
  fakeRuntime,
  listFiles,
  pointerKeys,
  project,
  sha256,
  useTempDir,
} from './helpers.js';

/** A project folder and a store folder of its own, and a runner with instant retries. */
async function setup(components: Component[]) {
  const root = await useTempDir('project');
  const store = new FileBlobStore(join(await useTempDir('store'), 'objects'));
  const counted = countingStore(store);
  let opened = 0;
  const events: RefreshEvent[] = [];
  const runtime = fakeRuntime();
  const run = (options: Partial<RefreshStateOptions> = {}) =>
    refreshState({
      project: project(root, components),
      openStore: async () => {
        opened++;
        return counted.store;
      },
      runtime,
      commitDelayMs: 10,
      onEvent: (event) => events.push(event),
      ...options,
    });
  return {
    root,
    store,
    calls: counted.calls,
    events,
    runtime,
    run,
    opened: () => opened,
    objects: async () => {
      const names: string[] = [];
      for await (const item of listAll(store, '')) names.push(item.name);
      return names;
    },
  };
}

const statusOf = (report: Awaited<ReturnType<typeof refreshState>>) =>
  Object.fromEntries(report.results.map((result) => [result.key, result.status]));

describe('refreshState', () => {
  it('refreshes local and versioned components', async () => {
    const t = await setup([
      component('dbt/manifest', 'local', 'local state'),
      component('Fivetran', 'versioned', 'versioned state'),
    ]);
    const report = await t.run();

    expect(report.ok).toBe(true);
    expect(statusOf(report)).toEqual({ 'dbt/manifest': 'refreshed', Fivetran: 'refreshed' });
    expect(report.stateInfoWrites).toBe(1);
    expect(report.storeLocation).toBe(t.store.location);

    const local = report.results[0];
    expect(local?.attempts).toBe(1);
    expect(local?.info).toMatchObject({ management: 'local', sha256: sha256('local state') });
    expect(await readFile(localStatePaths(t.root, 'dbt/manifest').state, 'utf8')).toBe(
      'local state',
    );
    expect(await readLocalStateInfo(t.root, 'dbt/manifest')).toEqual(local?.info);

    const versioned = report.results[1];
    const document = { keys: await pointerKeys(t.store) };
    expect(document.keys.Fivetran).toEqual(versioned?.info);
    const version = versioned?.info?.version as string;
    // The state object, the pointer, and the record that the refresh finished with that version.
    expect(await t.objects()).toEqual([
      'layout.json',
      pointerShardName(shardOf('Fivetran', DEFAULT_POINTER_SHARDS)),
      publishedRecordName(versioned?.info as StateInfo),
      'state-info.json',
      stateObjectName('Fivetran', version),
    ]);
    expect(versioned?.info?.generation).toBe(1);
    expect((await readText(t.store, stateObjectName('Fivetran', version))).text).toBe(
      'versioned state',
    );
    // No staging left behind.
    expect(await listFiles(join(t.root, LOCAL_STATE_DIR, '.staging'))).toEqual([]);
  });

  it('reports unchanged state without writing anything', async () => {
    const t = await setup([component('l', 'local', 'same'), component('v', 'versioned', 'same')]);
    const first = await t.run();
    const objects = await t.objects();
    const localState = await stat(localStatePaths(t.root, 'l').state);
    const puts = t.calls.put;

    const second = await t.run();
    expect(statusOf(second)).toEqual({ l: 'unchanged', v: 'unchanged' });
    expect(second.ok).toBe(true);
    expect(second.stateInfoWrites).toBe(0);
    expect(t.calls.put).toBe(puts);
    expect(await t.objects()).toEqual(objects);
    expect(second.results.map((result) => result.info)).toEqual(first.results.map((r) => r.info));
    expect((await stat(localStatePaths(t.root, 'l').state)).mtimeMs).toBe(localState.mtimeMs);
  });

  it('publishes a new version when the content changes', async () => {
    let content = 'one';
    const t = await setup([
      component('v', 'versioned', async ({ statePath }) => writeFile(statePath, content)),
    ]);
    const first = await t.run();
    content = 'two';
    const second = await t.run();
    expect(statusOf(second)).toEqual({ v: 'refreshed' });
    expect(second.results[0]?.info?.version).not.toBe(first.results[0]?.info?.version);
    expect((await pointerKeys(t.store)).v?.sha256).toBe(sha256('two'));
    // The old version stays: versions are immutable.
    expect((await t.objects()).filter((name) => name.startsWith(STATES_PREFIX))).toHaveLength(2);
  });

  it('rewrites local state whose file went missing', async () => {
    const t = await setup([component('l', 'local', 'same')]);
    await t.run();
    const { rm } = await import('node:fs/promises');
    await rm(localStatePaths(t.root, 'l').state);
    const report = await t.run();
    expect(statusOf(report)).toEqual({ l: 'refreshed' });
    expect(await readFile(localStatePaths(t.root, 'l').state, 'utf8')).toBe('same');
  });

  it('commits the keys that succeed when another fails', async () => {
    const t = await setup([
      component('good-local', 'local', 'ok'),
      component('bad', 'versioned', () => {
        throw new Error('catalog API said 401');
      }),
      component('good-versioned', 'versioned', 'ok'),
    ]);
    const report = await t.run();
    expect(report.ok).toBe(false);
    expect(statusOf(report)).toEqual({
      'good-local': 'refreshed',
      bad: 'failed',
      'good-versioned': 'refreshed',
    });
    const bad = report.results[1];
    expect(bad?.error).toBeInstanceOf(RefreshFailedError);
    expect(bad?.error?.message).toContain('"bad"');
    expect(bad?.error?.message).toContain('catalog API said 401');
    expect(bad?.attempts).toBe(1);
    expect(await readFile(localStatePaths(t.root, 'good-local').state, 'utf8')).toBe('ok');
    expect(Object.keys(await pointerKeys(t.store))).toEqual(['good-versioned']);
  });

  it('fails only the versioned keys when the store cannot be reached', async () => {
    const t = await setup([
      component('local', 'local', 'ok'),
      component('versioned', 'versioned', () => {
        throw new Error('must not run: its state could not be published');
      }),
    ]);
    const unreachable = new StorageError('connect ECONNREFUSED 127.0.0.1:9 (s3://bucket)');
    const report = await t.run({
      openStore: async () => {
        throw unreachable;
      },
    });
    expect(report.ok).toBe(false);
    expect(statusOf(report)).toEqual({ local: 'refreshed', versioned: 'failed' });
    expect(report.results[1]?.error).toBe(unreachable);
    expect(report.results[1]?.attempts).toBe(0);
    expect(await readFile(localStatePaths(t.root, 'local').state, 'utf8')).toBe('ok');
  });

  it('stops the whole run on a storage config error', async () => {
    const t = await setup([component('local', 'local', 'ok'), component('v', 'versioned', 'x')]);
    const misconfigured = new ConfigError('bucket is required', {
      field: 'state_storage.options.bucket',
    });
    const error = await t
      .run({
        openStore: async () => {
          throw misconfigured;
        },
      })
      .catch((thrown: unknown) => thrown);
    expect(error).toBe(misconfigured);
  });

  it('retries a transient failure', async () => {
    const t = await setup([
      component('flaky', 'versioned', async ({ statePath, attempt }) => {
        await writeFile(statePath, `partial from attempt ${attempt}`);
        if (attempt === 1) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        await writeFile(statePath, 'whole');
      }),
    ]);
    const report = await t.run();
    expect(statusOf(report)).toEqual({ flaky: 'refreshed' });
    expect(report.results[0]?.attempts).toBe(2);
    expect(report.results[0]?.info?.sha256).toBe(sha256('whole'));
    expect(t.runtime.delays).toHaveLength(1);
    expect(t.events.filter((event) => event.type === 'retry')).toMatchObject([
      { type: 'retry', key: 'flaky', attempt: 1 },
    ]);
  });

  it('gives up after the retries and reports the attempts', async () => {
    const t = await setup([
      component('down', 'local', () => {
        throw Object.assign(new Error('503'), { status: 503 });
      }),
    ]);
    const report = await t.run({ retries: 2 });
    expect(report.results[0]).toMatchObject({ status: 'failed', attempts: 3 });
    expect(t.runtime.delays).toHaveLength(2);
  });

  it('stops a component that runs past the timeout', async () => {
    let signal: AbortSignal | undefined;
    const t = await setup([
      component('hangs', 'versioned', (context) => {
        signal = context.signal;
        return new Promise<void>(() => {});
      }),
      component('fine', 'local', 'ok'),
    ]);
    const report = await t.run({ timeoutMs: 50 });
    expect(statusOf(report)).toEqual({ hangs: 'failed', fine: 'refreshed' });
    const error = report.results[0]?.error;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error?.message).toContain('longer than 50 ms');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    expect(report.results[0]?.attempts).toBe(1);
  });

  it('fails a component that writes nothing', async () => {
    const t = await setup([component('lazy', 'local', () => {})]);
    const report = await t.run();
    expect(report.ok).toBe(false);
    expect(report.results[0]?.error?.message).toMatch(/finished without writing its state/);
    expect(report.results[0]?.error?.message).toMatch(/statePath/);
  });

  it('keeps the previous local state whole when a refresh dies midway', async () => {
    let fail = false;
    const t = await setup([
      component('l', 'local', async ({ statePath }) => {
        if (!fail) return writeFile(statePath, 'good state'.repeat(1000));
        await writeFile(statePath, 'half of a new');
        throw new Error('disk full');
      }),
    ]);
    await t.run();
    const { state, info } = localStatePaths(t.root, 'l');
    const before = [await readFile(state), await readFile(info)];
    fail = true;
    const report = await t.run();
    expect(statusOf(report)).toEqual({ l: 'failed' });
    expect(await readFile(state)).toEqual(before[0]);
    expect(await readFile(info)).toEqual(before[1]);
  });

  it('rejects an unknown key, listing the known ones', async () => {
    const t = await setup([component('alpha', 'local', 'a'), component('beta', 'versioned', 'b')]);
    const error = await t.run({ keys: ['alpha', 'gamma'] }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('Unknown key "gamma"');
    expect((error as Error).message).toContain('Known keys: "alpha", "beta"');
    expect(t.opened()).toBe(0);
    const typo = await t.run({ keys: ['betta'] }).catch((thrown: unknown) => thrown);
    expect((typo as Error).message).toContain('Did you mean "beta"?');
  });

  it('selects by key and by management type', async () => {
    const t = await setup([
      component('a', 'local', 'a'),
      component('b', 'versioned', 'b'),
      component('c', 'local', 'c'),
    ]);
    const local = await t.run({ management: ['local'] });
    expect(statusOf(local)).toEqual({ a: 'refreshed', c: 'refreshed' });
    expect(t.opened()).toBe(0);
    expect(local.storeLocation).toBeUndefined();

    const one = await t.run({ keys: ['b'] });
    expect(statusOf(one)).toEqual({ b: 'refreshed' });
    expect(t.opened()).toBe(1);
  });

  it('batches the pointer moves of many versioned keys', async () => {
    const keys = Array.from({ length: 200 }, (_, index) => `source-${index}`);
    const t = await setup(keys.map((key) => component(key, 'versioned', `state of ${key}`)));
    // A delay longer than the run: the batch closes when every key has finished.
    const report = await t.run({ commitDelayMs: 60_000, concurrency: 16 });
    expect(report.ok).toBe(true);
    // One batch: one compare-and-swap per pointer shard the keys fall in, not one per key.
    const shards = new Set(keys.map((key) => shardOf(key, DEFAULT_POINTER_SHARDS)));
    expect(report.pointerWrites).toBe(shards.size);
    const document = { keys: await pointerKeys(t.store) };
    expect(Object.keys(document.keys).sort()).toEqual([...keys].sort());
  });

  it('bounds the upload by --timeout too, and commits nothing for a key whose upload hangs', async () => {
    const t = await setup([
      component('slow-upload', 'versioned', 'x'),
      component('local', 'local', 'l'),
    ]);
    const hanging: BlobStore = {
      adapter: t.store.adapter,
      location: t.store.location,
      capabilities: t.store.capabilities,
      get: (name) => t.store.get(name),
      head: (name) => t.store.head(name),
      list: (...args) => t.store.list(...args),
      delete: (...args) => t.store.delete(...args),
      put: (name, body, options) =>
        name.startsWith('states/')
          ? new Promise((_resolve, reject) =>
              options?.signal?.addEventListener('abort', () => reject(options.signal?.reason)),
            )
          : t.store.put(name, body, options),
    };
    const report = await t.run({ openStore: async () => hanging, timeoutMs: 300 });
    expect(statusOf(report)).toEqual({ 'slow-upload': 'failed', local: 'refreshed' });
    expect(report.results[0]?.error).toBeInstanceOf(TimeoutError);
    expect(report.results[0]?.error?.message).toMatch(
      /upload of "slow-upload" took longer than 300 ms/,
    );
    expect(Object.keys(await pointerKeys(t.store))).toEqual([]);
  });

  it('uploads only the bytes it hashed: a staged file changed since fails, and nothing lands', async () => {
    const root = await useTempDir();
    const store = new FileBlobStore(join(root, 'store'));
    const file = join(root, 'staged');
    await writeFile(file, 'what the component wrote');
    const digest = await hashFile(file);
    // A write the component left running lands after its refresh returned and was hashed.
    await writeFile(file, 'what a leaked timer wrote later');
    await expect(uploadStateVersion(store, 'k', file, digest)).rejects.toBeInstanceOf(
      IntegrityError,
    );
    const names: string[] = [];
    for await (const item of listAll(store, STATES_PREFIX)) names.push(item.name);
    expect(names).toEqual([]);
    // Unchanged, it uploads those very bytes.
    await writeFile(file, 'what the component wrote');
    const info = await uploadStateVersion(store, 'k', file, digest);
    const stored = await readText(store, stateObjectName('k', info.version));
    expect(stored.text).toBe('what the component wrote');
  });

  it('runs at most `concurrency` refreshes at once', async () => {
    const concurrency = 3;
    let active = 0;
    let most = 0;
    // The first refreshes hold until `concurrency` of them run at once (or a generous fallback
    // fires if the limit were lower): a limit that let more through would show in `most`.
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
      setTimeout(resolve, 5_000).unref();
    });
    const components = Array.from({ length: 12 }, (_, index) =>
      component(`k${index}`, 'local', async ({ statePath }) => {
        active++;
        most = Math.max(most, active);
        if (active === concurrency) openGate();
        await gate;
        await delay(1);
        await writeFile(statePath, String(index));
        active--;
      }),
    );
    const t = await setup(components);
    const report = await t.run({ concurrency });
    expect(report.ok).toBe(true);
    expect(most).toBe(concurrency);
  });

  it('times each key from its own start, not from its wait for a free slot', async () => {
    // One slot: `quick` waits for `slow` to finish, and only then runs, in about no time.
    const t = await setup([
      component('slow', 'local', async ({ statePath }) => {
        await delay(400);
        await writeFile(statePath, 'slow');
      }),
      component('quick', 'local', 'quick'),
    ]);
    const report = await t.run({ concurrency: 1 });
    const duration = (key: string) =>
      report.results.find((result) => result.key === key)?.durationMs ?? Number.NaN;
    expect(duration('slow')).toBeGreaterThanOrEqual(390);
    expect(duration('quick')).toBeLessThan(300);
    const end = t.events.find((event) => event.type === 'end' && event.result.key === 'quick');
    expect(end?.type === 'end' && end.result.durationMs).toBe(duration('quick'));
  });
  it('emits start and end events for every key', async () => {
    const t = await setup([
      component('a', 'local', ({ statePath, log }) => {
        log('fetching');
        return writeFile(statePath, 'a');
      }),
    ]);
    await t.run();
    expect(t.events.map((event) => event.type)).toEqual(['start', 'log', 'end']);
    expect(t.events[1]).toEqual({ type: 'log', key: 'a', message: 'fetching' });
  });

  it('runs no key, and fails none, when the run is cancelled before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const t = await setup([component('a', 'local', 'a'), component('b', 'versioned', 'b')]);
    const report = await t.run({ signal: controller.signal });
    expect(report.interrupted).toBe(true);
    expect(report.ok).toBe(false);
    expect(statusOf(report)).toEqual({ a: 'not-run', b: 'not-run' });
    expect(report.results[0]?.error).toBeUndefined();
    expect(t.events.map((event) => event.type)).toEqual(['end', 'end']);
  });

  it('reports keys stopped by an interruption as cancelled, and records no failure', async () => {
    const controller = new AbortController();
    const t = await setup([
      component('done', 'local', 'done'),
      component('slow', 'local', async ({ signal }) => {
        controller.abort();
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      }),
      component('later', 'local', 'later'),
    ]);
    const report = await t.run({ signal: controller.signal, concurrency: 1 });
    expect(statusOf(report)).toEqual({ done: 'refreshed', slow: 'cancelled', later: 'not-run' });
    expect(report.results[1]?.error).toBeInstanceOf(AbortedError);
    const record = await readLastRefresh(t.root);
    expect(Object.keys(record?.keys ?? {})).toEqual(['done']);
  });

  it('removes staging folders and temporary files of processes that are gone', async () => {
    const t = await setup([component('a', 'local', 'a')]);
    const abandoned = join(t.root, LOCAL_STATE_DIR, '.staging', '2147483646-deadbeef');
    await mkdir(abandoned, { recursive: true });
    await writeFile(join(abandoned, 'state'), 'half');
    // A pin file half-written by a process that was killed, and one a live process is writing.
    const dead = join(t.root, LOCAL_STATE_DIR, '.tmp-2147483646-0123456789ab');
    const alive = join(t.root, LOCAL_STATE_DIR, `.tmp-${process.pid}-0123456789ab`);
    await writeFile(dead, '{"half');
    await writeFile(alive, '{"still');
    await t.run();
    await expect(stat(abandoned)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(dead)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(alive)).isFile()).toBe(true);
  });

  it('checks its options', async () => {
    const t = await setup([component('v', 'versioned', 'v')]);
    await expect(t.run({ concurrency: 0 })).rejects.toBeInstanceOf(UsageError);
    await expect(t.run({ retries: -1 })).rejects.toBeInstanceOf(UsageError);
    await expect(t.run({ timeoutMs: 0 })).rejects.toBeInstanceOf(UsageError);
    await expect(t.run({ openStore: undefined })).rejects.toThrow(/need a store/);
  });
});
