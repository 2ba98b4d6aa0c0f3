import { join } from 'node:path';
import { freshSince, readLastRefresh } from '../deploy/last-refresh.js';
import { RefreshFailedError } from '../errors.js';
import { defaultStateHome } from '../instance/default-home.js';
import { parseStorageUrl, type StorageSelection } from '../instance/instance-config.js';
import { openStore } from '../instance/open-store.js';
import { localStateRoot, readPresentLocalInfo } from '../local/local-state.js';
import type { StateInfo } from '../model/state-info.js';
import type { Component } from '../project/component.js';
import { findProjectConfig, loadProject, type Project } from '../project/load-project.js';
import { refreshState } from '../refresh/refresh-state.js';
import type { BlobStore } from '../store/blob-store.js';
import { withFileLock } from '../store/file-lock.js';
import { readPointer } from '../versioned/pointer.js';

/**
 * Development mode, as Dagster refreshes a state-backed component when definitions load in
 * development: `loadState` refreshes a key whose state is missing (or, with `maxAgeMs`, older
 * than that) before returning it, through the refresh engine. It is on when `DEFSTATE_DEV` is
 * set (`defstate dev` sets it for the command it runs), and never when `NODE_ENV=production` or
 * `CI` is set. It never writes to the configured production storage: versioned state is read and
 * refreshed in `DEFSTATE_DEV_STORAGE` (`defstate dev --storage`) or else the embedded local store,
 * whatever DEFSTATE_HOME, DEFSTATE_STORAGE_URL or the loader's own store options say. Pins are
 * ignored: development loads latest. Processes of one project refresh under one lock, and each
 * looks again once it holds it, so parallel processes refresh a key once, not once each.
 * Whether it is on is decided in dev-switch.ts, which `loadState` imports alone: this module, with
 * the refresh engine behind it, is imported only when it is.
 */
/** The store development mode uses: `DEFSTATE_DEV_STORAGE`, else the embedded local store. */
export function developmentStorage(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): StorageSelection {
  const url = env.DEFSTATE_DEV_STORAGE?.trim();
  if (url) {
    return {
      ...parseStorageUrl(url, 'DEFSTATE_DEV_STORAGE'),
      baseDir: cwd,
      source: 'env-url',
      origin: 'DEFSTATE_DEV_STORAGE',
    };
  }
  const home = defaultStateHome(env);
  const path = join(home, 'storage');
  return { adapter: 'file', options: { path }, baseDir: home, source: 'default', origin: path };
}

export function openDevelopmentStore(
  projectRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BlobStore> {
  return openStore(developmentStorage(env, projectRoot), { projectRoot, env });
}

/** Longest a process waits for another one's development refresh: a slow component's time. */
const LOCK_WAIT_MS = 15 * 60_000;

/** Runs `action` holding the project's development-refresh lock. */
export function withDevelopmentLock<T>(projectRoot: string, action: () => Promise<T>): Promise<T> {
  return withFileLock(join(localStateRoot(projectRoot), '.dev-refresh.lock'), action, {
    waitMs: LOCK_WAIT_MS,
  });
}

export interface DevelopmentRefreshOptions {
  /** State older than this, by its last confirmed refresh, is refreshed too, in ms. */
  maxAgeMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Refreshes those of `keys` that the project declares, that do not opt out (`refreshIfDev:
 * false`), and whose state is missing or too old, each once however many processes ask at
 * once. A key whose refresh fails while it has no state is an error (its loading could only fail
 * after); one that still has older state keeps it, with a warning.
 */
export async function refreshForDevelopment(
  projectRoot: string,
  keys: readonly string[],
  store: BlobStore,
  options: DevelopmentRefreshOptions = {},
): Promise<void> {
  // An app whose folder holds no project config has nothing to refresh its state with.
  const found = await findProjectConfig(projectRoot).catch(() => undefined);
  if (!found) return;
  const project = await loadProject(projectRoot);
  const candidates = candidatesOf(project, keys);
  if (candidates.length === 0) return;
  const first = await needingRefresh(project, candidates, store, options);
  if (first.length === 0) return;
  await withDevelopmentLock(project.root, async () => {
    // Another process may have refreshed them while this one waited for the lock.
    const needed = await needingRefresh(project, first, store, options);
    if (needed.length === 0) return;
    const report = await refreshState({
      project,
      keys: needed.map(({ component }) => component.key),
      openStore: async () => store,
      signal: options.signal,
    });
    for (const result of report.results) {
      if (result.status !== 'failed' && result.status !== 'cancelled') continue;
      const had = needed.find(({ component }) => component.key === result.key)?.info;
      if (!had) {
        throw new RefreshFailedError(
          result.key,
          `Development refresh of "${result.key}" failed: ${result.error?.message ?? result.status}`,
          {
            cause: result.error,
            hint: 'Fix the component (or its source) and load again; `defstate dev` shows the failure in full.',
          },
        );
      }
      process.emitWarning(
        `Development refresh of "${result.key}" failed; loading its older state. ${result.error?.message ?? ''}`,
        { code: 'DEFSTATE_DEV_REFRESH_FAILED' },
      );
    }
  });
}

function candidatesOf(project: Project, keys: readonly string[]): Component[] {
  const wanted = new Set(keys);
  return project.components.filter(
    ({ key, refreshIfDev }) => wanted.has(key) && refreshIfDev !== false,
  );
}

interface Needed {
  component: Component;
  /** The state it has now, when it has some (too old). */
  info?: StateInfo;
}

async function needingRefresh(
  project: Project,
  candidates: readonly (Component | Needed)[],
  store: BlobStore,
  options: DevelopmentRefreshOptions,
): Promise<Needed[]> {
  const components = candidates.map((candidate) =>
    'component' in candidate ? candidate.component : candidate,
  );
  const versioned = components.filter(({ management }) => management === 'versioned');
  const latest =
    versioned.length > 0
      ? (
          await readPointer(store, {
            keys: versioned.map(({ key }) => key),
            signal: options.signal,
          })
        ).entries
      : new Map<string, StateInfo>();
  const lastRefresh =
    options.maxAgeMs === undefined ? undefined : await readLastRefresh(project.root);
  const now = options.now?.() ?? Date.now();
  const needed: Needed[] = [];
  for (const component of components) {
    const info =
      component.management === 'local'
        ? await readPresentLocalInfo(project.root, component.key)
        : latest.get(component.key);
    if (!info) {
      needed.push({ component });
      continue;
    }
    const age = now - freshSince(info, lastRefresh?.keys[component.key]);
    if (options.maxAgeMs !== undefined && age > options.maxAgeMs) needed.push({ component, info });
  }
  return needed;
}
