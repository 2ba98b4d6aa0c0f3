import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StateNotFoundError } from '../errors.js';
import { defaultCacheDir } from '../instance/default-home.js';
import { defaultStorageNotice, resolveStorage } from '../instance/instance-config.js';
import { openStore } from '../instance/open-store.js';
import { LOCAL_STATE_DIR, localStatePaths, readLocalStateInfo } from '../local/local-state.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';
import { assertStateKey } from '../model/state-key.js';
import type { BlobStore } from '../store/blob-store.js';
import { readStateInfo } from '../versioned/state-info-store.js';
import { downloadStateVersion } from '../versioned/transfer.js';

export interface LoadStateOptions {
  /** The project whose `.local_defs_state/` holds local state; the cwd by default. */
  projectRoot?: string;
  /**
   * How the key's state is managed. When omitted, a key with local state is local and any other
   * key is versioned.
   */
  management?: ManagementType;
  env?: NodeJS.ProcessEnv;
  /** Same as `--storage`: overrides `DEFSTATE_HOME` for versioned state. */
  storageUrl?: string;
  /** A store to read versioned state from instead of the configured one. */
  store?: BlobStore;
  /** Where downloaded versions are kept; `DEFSTATE_CACHE_DIR` or the user cache folder by default. */
  cacheDir?: string;
  signal?: AbortSignal;
}

export interface LoadedState {
  key: string;
  management: ManagementType;
  /** A file holding the whole state; read it, do not write it. */
  path: string;
  version: string;
  info: StateInfo;
}

/**
 * The state of one key, for building definitions at start-up. Local state is read in place.
 * Versioned state is downloaded once into a content-addressed cache, its sha256 checked on the
 * way, and read from there on later starts. No state is an error that says how to make some.
 */
export async function loadState(key: string, options: LoadStateOptions = {}): Promise<LoadedState> {
  assertStateKey(key);
  const projectRoot = resolve(options.projectRoot ?? process.cwd());
  const localInfo =
    options.management === 'versioned' ? undefined : await readLocalStateInfo(projectRoot, key);
  const management = options.management ?? (localInfo ? 'local' : 'versioned');
  if (management === 'local') {
    const path = localStatePaths(projectRoot, key).state;
    const present = await stat(path).then(
      (stats) => stats.isFile(),
      () => false,
    );
    if (!localInfo || !present) {
      throw new StateNotFoundError(
        key,
        `No local state for "${key}" in ${join(projectRoot, LOCAL_STATE_DIR)}.`,
        {
          hint: `Run \`defstate refresh --key ${JSON.stringify(key)}\` first (in CI: before building the image), and copy .local_defs_state into the artifact.`,
        },
      );
    }
    return { key, management, path, version: localInfo.version, info: localInfo };
  }
  return loadVersionedState(key, projectRoot, options, options.management === undefined);
}

let warnedAboutDefault = false;

async function loadVersionedState(
  key: string,
  projectRoot: string,
  options: LoadStateOptions,
  guessed: boolean,
): Promise<LoadedState> {
  const env = options.env ?? process.env;
  let store = options.store;
  if (!store) {
    const selection = await resolveStorage({
      env,
      storageUrl: options.storageUrl,
      cwd: projectRoot,
    });
    store = await openStore(selection, { projectRoot, env });
    if (selection.source === 'default' && !warnedAboutDefault) {
      warnedAboutDefault = true;
      process.emitWarning(defaultStorageNotice(store.location), {
        code: 'DEFSTATE_DEFAULT_STORAGE',
      });
    }
  }
  try {
    const { document } = await readStateInfo(store, { signal: options.signal });
    const info = document.keys[key];
    if (!info) {
      // Without `management` the key may be a local one never refreshed: name both places.
      const where = guessed
        ? `no local state in ${join(projectRoot, LOCAL_STATE_DIR)} and no versioned state in ${store.location}`
        : `no versioned state in ${store.location}`;
      throw new StateNotFoundError(key, `No state for "${key}": ${where}.`, {
        hint: `Run \`defstate refresh --key ${JSON.stringify(key)}\` first, with the same DEFSTATE_HOME / --storage for versioned keys.`,
      });
    }
    const path = join(
      options.cacheDir ?? defaultCacheDir(env),
      'sha256',
      info.sha256.slice(0, 2),
      info.sha256,
    );
    const cached = await stat(path).then(
      (stats) => stats.size === info.size,
      () => false,
    );
    if (!cached) await downloadStateVersion(store, info, path, { signal: options.signal });
    return { key, management: 'versioned', path, version: info.version, info };
  } finally {
    if (!options.store) await store.close?.();
  }
}
