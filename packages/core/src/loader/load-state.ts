import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createLimit } from '../async/limit.js';
import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { pinFilePath, pinnedVersionMissing, readPins } from '../deploy/pins.js';
import { pulledStatePath } from '../deploy/pulled.js';
import { BlobNotFoundError, IntegrityError, StateNotFoundError, UsageError } from '../errors.js';
import { defaultCacheDir } from '../instance/default-home.js';
import { LOCAL_STATE_DIR, readLocalState, readLocalStateInfo } from '../local/local-state.js';
import type { PinFile } from '../model/pin-file.js';
import type { ManagementType, StateInfo } from '../model/state-info.js';
import { assertStateKey } from '../model/state-key.js';
import type { BlobStore } from '../store/blob-store.js';
import { loadStatesForDevelopment } from './dev-loading.js';

export interface LoadStateOptions {
  /** The project whose `.local_defs_state/` holds local state and pins; the cwd by default. */
  projectRoot?: string;
  /**
   * How the key's state is managed. When omitted, a pinned key is as its pin says; otherwise a key
   * with local state is local and any other key is versioned.
   */
  management?: ManagementType;
  /** Load the latest state even when the project has a pin file. */
  ignorePins?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Same as `--storage`: overrides `DEFSTATE_HOME` for versioned state. */
  storageUrl?: string;
  /** A store to read versioned state from instead of the configured one. */
  store?: BlobStore;
  /** Where downloaded versions are kept; `DEFSTATE_CACHE_DIR` or the user cache folder by default. */
  cacheDir?: string;
  /**
   * Development mode only (`defstate dev`, `DEFSTATE_DEV=1`): also refresh state older than this,
   * in ms, counted from its last refresh that produced or confirmed it.
   */
  maxAgeMs?: number;
  signal?: AbortSignal;
}

export interface LoadedState {
  key: string;
  management: ManagementType;
  /** A file holding the whole state; read it, do not write it. */
  path: string;
  version: string;
  info: StateInfo;
  /** The version came from the project's pin file. */
  pinned: boolean;
}

/**
 * The state of one key, for building definitions at start-up.
 *
 * When the project has a pin file (`defstate deploy`), the key's pinned version is loaded and
 * nothing else (a key the pin file does not name is an error): from the tree for local state, and
 * for versioned state from the copy `defstate pull` put in the tree, else the cache, else the store
 * (with no read of the latest pointer). Without pins, local state is read in place and versioned
 * state is the latest version. Versioned state is downloaded once into a content-addressed cache,
 * its sha256 checked on the way. No state is an error that says how to make some.
 */
export async function loadState(key: string, options: LoadStateOptions = {}): Promise<LoadedState> {
  const [loaded] = await loadStates([key], options);
  return loaded as LoadedState;
}

/**
 * The state of several keys, as `loadState` loads each, sharing one store connection, one read of
 * the pin file and at most one read of the latest pointer: an app that builds its definitions
 * from many keys starts with one request to the store, or none when its pins are pulled.
 */
export async function loadStates(
  keys: readonly string[],
  options: LoadStateOptions = {},
): Promise<LoadedState[]> {
  for (const key of keys) assertStateKey(key);
  const development = await loadStatesForDevelopment(keys, options, loadStoredStates);
  return development ?? loadStoredStates(keys, options);
}

/** Loads what is stored, refreshing nothing. */
async function loadStoredStates(
  keys: readonly string[],
  options: LoadStateOptions,
): Promise<LoadedState[]> {
  const session = new LoadSession(resolve(options.projectRoot ?? process.cwd()), keys, options);
  const limit = createLimit(8);
  try {
    const pins = options.ignorePins ? undefined : await readPins(session.projectRoot);
    return await Promise.all(keys.map((key) => limit(() => loadOne(key, pins, session))));
  } finally {
    await session.close();
  }
}

async function loadOne(
  key: string,
  pins: PinFile | undefined,
  session: LoadSession,
): Promise<LoadedState> {
  const { projectRoot, options } = session;
  if (pins) {
    const pinned = pins.keys[key];
    if (pinned) return loadPinnedState(pinned, pins, session);
    // A deployment loads what it pinned and nothing else: a key the pins do not name would float.
    throw new StateNotFoundError(
      key,
      `"${key}" is not in the pin file ${pinFilePath(projectRoot)}, which pins ${Object.keys(pins.keys).length} other key(s).`,
      {
        hint: 'The pins predate this component: run `defstate deploy` (or `defstate pin`) again, or pass ignorePins to load the latest state.',
      },
    );
  }
  const localInfo =
    options.management === 'versioned' ? undefined : await readLocalStateInfo(projectRoot, key);
  const management = options.management ?? (localInfo ? 'local' : 'versioned');
  if (management === 'local') {
    const { path, info } = await presentLocalState(projectRoot, key);
    return { key, management, path, version: info.version, info, pinned: false };
  }
  return loadLatestState(key, session, options.management === undefined);
}

async function loadPinnedState(
  info: StateInfo,
  pins: PinFile,
  session: LoadSession,
): Promise<LoadedState> {
  const { projectRoot, options } = session;
  const { key, version, management } = info;
  if (options.management && options.management !== management) {
    throw new UsageError(
      `"${key}" is pinned as ${management} state in ${pinFilePath(projectRoot)}, not ${options.management}.`,
      { hint: 'Deploy again (`defstate deploy`) after changing a component’s management type.' },
    );
  }
  const loaded = { key, management, version, info, pinned: true };
  if (management === 'local') {
    const local = await presentLocalState(projectRoot, key);
    if (local.info.version !== version || local.info.sha256 !== info.sha256) {
      throw new IntegrityError(
        `The local state of "${key}" is version ${local.info.version}, but the pin file pins ${version}.`,
        {
          hint: `It was refreshed after \`defstate deploy\`. Deploy again, or delete ${pinFilePath(projectRoot)} to use the state in the tree.`,
        },
      );
    }
    return { ...loaded, path: local.path };
  }
  const pulled = pulledStatePath(projectRoot, info);
  if (await hasSize(pulled, info.size)) return { ...loaded, path: pulled };
  const path = session.cachePath(info);
  if (await hasSize(path, info.size)) return { ...loaded, path };
  const store = await session.store();
  try {
    await download(store, info, path, options.signal);
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
    throw pinnedVersionMissing(info, store.location, pins, error);
  }
  return { ...loaded, path };
}

async function presentLocalState(
  projectRoot: string,
  key: string,
): Promise<{ path: string; info: StateInfo }> {
  const local = await readLocalState(projectRoot, key);
  if (!local) {
    throw new StateNotFoundError(
      key,
      `No local state for "${key}" in ${join(projectRoot, LOCAL_STATE_DIR)}.`,
      {
        hint: `Run \`defstate refresh --key ${JSON.stringify(key)}\` first (in CI: before building the image), and copy .local_defs_state into the artifact.`,
      },
    );
  }
  return local;
}

async function loadLatestState(
  key: string,
  session: LoadSession,
  guessed: boolean,
): Promise<LoadedState> {
  const { projectRoot, options } = session;
  const store = await session.store();
  const info = (await session.latest()).get(key);
  if (!info) {
    // Without `management` the key may be a local one never refreshed: name both places.
    const where = guessed
      ? `no local state in ${join(projectRoot, LOCAL_STATE_DIR)} and no versioned state in ${store.location}`
      : `no versioned state in ${store.location}`;
    throw new StateNotFoundError(key, `No state for "${key}": ${where}.`, {
      hint: `Run \`defstate refresh --key ${JSON.stringify(key)}\` first, with the same DEFSTATE_HOME / --storage for versioned keys.`,
    });
  }
  const path = session.cachePath(info);
  if (!(await hasSize(path, info.size))) {
    await download(store, info, path, options.signal);
  }
  return { key, management: 'versioned', path, version: info.version, info, pinned: false };
}

/**
 * Downloads a version into the cache, retrying passing failures: one 503 must not stop an
 * application from starting.
 */
async function download(
  store: BlobStore,
  info: StateInfo,
  path: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { downloadStateVersion } = await import('../versioned/transfer.js');
  return withRetry(() => downloadStateVersion(store, info, path, { signal }), {
    policy: STORE_RETRY_POLICY,
    signal,
  });
}

async function hasSize(path: string, size: number): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isFile() && stats.size === size,
    () => false,
  );
}

let warnedAboutDefault = false;

/**
 * What the keys of one load share: the store, opened on first need (or the one given), and the
 * latest pointer, read on first need. Closes only a store it opened.
 */
class LoadSession {
  #store: Promise<BlobStore> | undefined;
  #latest: Promise<Map<string, StateInfo>> | undefined;
  readonly #cacheDir: string;

  constructor(
    readonly projectRoot: string,
    /** Every key of this load: the latest pointer is read once, for the shards they are in. */
    readonly keys: readonly string[],
    readonly options: LoadStateOptions,
  ) {
    this.#cacheDir = options.cacheDir ?? defaultCacheDir(options.env ?? process.env);
  }

  /** The content-addressed cache entry of a version: its name is its sha256. */
  cachePath(info: StateInfo): string {
    return join(this.#cacheDir, 'sha256', info.sha256.slice(0, 2), info.sha256);
  }

  store(): Promise<BlobStore> {
    this.#store ??= this.options.store ? Promise.resolve(this.options.store) : this.#open();
    return this.#store;
  }

  latest(): Promise<Map<string, StateInfo>> {
    this.#latest ??= this.store().then(async (store) => {
      const { readPointer } = await import('../versioned/pointer.js');
      return (await readPointer(store, { keys: this.keys, signal: this.options.signal })).entries;
    });
    return this.#latest;
  }

  async close(): Promise<void> {
    if (this.options.store || !this.#store) return;
    const store = await this.#store.catch(() => undefined);
    await store?.close?.();
  }

  async #open(): Promise<BlobStore> {
    // Imported only when a key needs the store (as are the pointer reader and the download):
    // pinned and pulled state starts an app without them, nor the adapters, schemas and parsers
    // they bring.
    const [{ defaultStorageNotice, resolveStorage }, { openStore }] = await Promise.all([
      import('../instance/instance-config.js'),
      import('../instance/open-store.js'),
    ]);
    const env = this.options.env ?? process.env;
    const selection = await resolveStorage({
      env,
      storageUrl: this.options.storageUrl,
      cwd: this.projectRoot,
    });
    const store = await openStore(selection, { projectRoot: this.projectRoot, env });
    if (selection.source === 'default' && !warnedAboutDefault) {
      warnedAboutDefault = true;
      process.emitWarning(defaultStorageNotice(store.location), {
        code: 'DEFSTATE_DEFAULT_STORAGE',
      });
    }
    return store;
  }
}
