import { resolve } from 'node:path';
import type { BlobStore } from '../store/blob-store.js';
import { developmentMode } from './dev-switch.js';
import type { LoadedState, LoadStateOptions } from './load-state.js';

let announced = false;
let refusalWarned = false;

/**
 * `loadStates` in development mode (see dev-mode.ts): the keys' missing or too old state is
 * refreshed into the development store first, then everything is loaded from there, pins
 * ignored. Returns `undefined` when development mode is off, for the caller to load as usual.
 */
export async function loadStatesForDevelopment(
  keys: readonly string[],
  options: LoadStateOptions,
  load: (keys: readonly string[], options: LoadStateOptions) => Promise<LoadedState[]>,
): Promise<LoadedState[] | undefined> {
  const env = options.env ?? process.env;
  const mode = developmentMode(env);
  if (!mode.on) {
    if (mode.refused && !refusalWarned) {
      refusalWarned = true;
      process.emitWarning(
        `DEFSTATE_DEV is set but ignored: ${mode.refused}. State is loaded as stored, never refreshed.`,
        { code: 'DEFSTATE_DEV_IGNORED' },
      );
    }
    return undefined;
  }
  const projectRoot = resolve(options.projectRoot ?? process.cwd());
  // Imported only now: the refresh engine behind it is not what an app's start-up should load.
  const { openDevelopmentStore, refreshForDevelopment } = await import('./dev-mode.js');
  const store: BlobStore = await openDevelopmentStore(projectRoot, env);
  try {
    // `defstate dev` has already said where state goes; an app started otherwise says it once.
    if (!announced && !env.DEFSTATE_DEV_ANNOUNCED) {
      announced = true;
      process.emitWarning(
        `Development mode: versioned state is read and refreshed in ${store.location}, never in the configured storage.`,
        { code: 'DEFSTATE_DEV_MODE' },
      );
    }
    await refreshForDevelopment(projectRoot, keys, store, {
      maxAgeMs: options.maxAgeMs,
      signal: options.signal,
    });
    return await load(keys, { ...options, projectRoot, store, ignorePins: true });
  } finally {
    await store.close?.();
  }
}
