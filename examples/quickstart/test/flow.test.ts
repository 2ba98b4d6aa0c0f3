/**
 * The whole flow on a copy of the example: load the project config, refresh every component into
 * a throwaway store, then load the state and build the app's definitions from it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  FileBlobStore,
  loadProject,
  type Project,
  refreshState,
  StateNotFoundError,
} from '@defstate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDefinitions, loadStates, STATE_KEYS } from '../src/definitions.mjs';
import { copySources, exampleRoot, type Fixture } from './fixture.js';

let fixture: Fixture;
let project: Project;
let store: FileBlobStore;
beforeEach(async () => {
  fixture = await copySources();
  // The real config and components, run against the copy so the example's own folder stays clean.
  project = { ...(await loadProject(exampleRoot)), root: fixture.root };
  store = new FileBlobStore(join(fixture.root, 'store'));
});
afterEach(async () => {
  await fixture.cleanup();
});

const refresh = () => refreshState({ project, openStore: async () => store, commitDelayMs: 0 });
const load = () =>
  loadStates({ projectRoot: fixture.root, store, cacheDir: join(fixture.root, 'cache') });

describe('the quickstart flow', () => {
  it('declares three components, and the app reads exactly those keys', () => {
    const declared = project.components.map((component) => [component.key, component.management]);
    expect(declared).toEqual([
      ['services', 'local'],
      ['warehouse-catalog', 'versioned'],
      ['feature-flags', 'versioned'],
    ]);
    expect(Object.entries(STATE_KEYS)).toEqual(declared);
  });

  it('refreshes every key, loads it back and builds the definitions', async () => {
    const report = await refresh();
    expect(report.ok).toBe(true);
    expect(report.results.map((result) => result.status)).toEqual([
      'refreshed',
      'refreshed',
      'refreshed',
    ]);
    const { loaded, states } = await load();
    expect(loaded.map((state) => [state.key, state.management])).toEqual([
      ['services', 'local'],
      ['warehouse-catalog', 'versioned'],
      ['feature-flags', 'versioned'],
    ]);
    const definitions = buildDefinitions(states);
    expect(definitions.assets.map((asset) => asset.key)).toEqual([
      'warehouse/customers',
      'warehouse/events',
      'warehouse/orders',
      'warehouse/products',
    ]);
    expect(definitions.assetChecks).toHaveLength(4);
    expect(definitions.jobs.map((job) => job.name)).toEqual([
      'smoke_test_auth',
      'smoke_test_search',
      'smoke_test_catalog',
      'smoke_test_orders',
      'smoke_test_gateway',
    ]);
    expect(definitions.jobs.at(-1)?.after).toEqual([
      'smoke_test_auth',
      'smoke_test_catalog',
      'smoke_test_orders',
    ]);
    expect(definitions.schedules).toHaveLength(5);
  });

  it('makes no new versions when the sources have not changed', async () => {
    const first = await refresh();
    const second = await refresh();
    expect(second.results.map((result) => result.status)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(second.results.map((result) => result.info?.version)).toEqual(
      first.results.map((result) => result.info?.version),
    );
  });

  it('honours the flags: a disabled flag drops what it turns on', async () => {
    await fixture.write(
      'sources/flags.json',
      JSON.stringify({
        'row-count-checks': { enabled: false, description: 'Row-count checks.' },
        'service-schedules': { enabled: true, description: 'Nightly smoke tests.' },
      }),
    );
    await refresh();
    const definitions = buildDefinitions((await load()).states);
    expect(definitions.assetChecks).toEqual([]);
    expect(definitions.schedules).toHaveLength(5);
  });

  it('fails the refresh of a key with a bad source, naming the file, and keeps the others', async () => {
    await fixture.write('sources/warehouse/refunds.csv', 'id,amount\n1\n');
    const report = await refresh();
    expect(report.ok).toBe(false);
    const failed = report.results.find((result) => result.key === 'warehouse-catalog');
    expect(failed?.status).toBe('failed');
    expect(failed?.error?.message).toContain(
      'sources/warehouse/refunds.csv:2: expected 2 fields, found 1',
    );
    expect(report.results.filter((result) => result.status === 'refreshed')).toHaveLength(2);
  });

  it('refuses to load when a key has no state, with the loader’s message', async () => {
    await refreshState({
      project,
      openStore: async () => store,
      keys: ['services', 'feature-flags'],
      commitDelayMs: 0,
    });
    const error = await load().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(StateNotFoundError);
    expect((error as Error).message).toContain(
      'No state for "warehouse-catalog": no versioned state in',
    );
  });
});

describe('the app', () => {
  it('exits non-zero with the loader’s message when state is missing', () => {
    const empty = join(fixture.root, 'empty-store');
    const result = spawnSync(process.execPath, [join(exampleRoot, 'src/app.mjs')], {
      encoding: 'utf8',
      env: {
        ...process.env,
        DEFSTATE_STORAGE_URL: `file://${empty}`,
        DEFSTATE_CACHE_DIR: join(fixture.root, 'cache'),
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'quickstart: No state for "warehouse-catalog": no versioned state in',
    );
    expect(result.stdout).toBe('');
  });
});
