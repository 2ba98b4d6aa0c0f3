import type { BlobStore } from '../store/blob-store.js';
import { resolveStorage } from './instance-config.js';
import { openStore } from './open-store.js';

/** A store opened on first need and shared after, the way every command and the Action use one. */
export interface StoreOpener {
  /** Opens the store on first call; later calls share it. */
  open: () => Promise<BlobStore>;
  /** Closes the store if it was opened, so its connections end cleanly before the exit. */
  close: () => Promise<void>;
}

export interface StoreOpenerOptions {
  /** The project the adapter is resolved from. */
  projectRoot: string;
  /** `--storage`: wins over DEFSTATE_STORAGE_URL and DEFSTATE_HOME. */
  storageUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** Called once when no instance config was found and the embedded default store is used. */
  onDefault?: (location: string) => void;
}

/**
 * Opens the configured store lazily: `--storage`, DEFSTATE_STORAGE_URL, DEFSTATE_HOME, or the
 * embedded default, which `onDefault` announces (it works, but it is only this machine).
 */
export function createStoreOpener(options: StoreOpenerOptions): StoreOpener {
  const { projectRoot, storageUrl, env = process.env } = options;
  let opened: Promise<BlobStore> | undefined;
  const open = () => {
    opened ??= (async () => {
      const selection = await resolveStorage({ storageUrl, env, cwd: projectRoot });
      const store = await openStore(selection, { projectRoot, env });
      if (selection.source === 'default') options.onDefault?.(store.location);
      return store;
    })();
    return opened;
  };
  const close = async () => {
    const store = await opened?.catch(() => undefined);
    await store?.close?.();
  };
  return { open, close };
}
