import { createStoreOpener, defaultStorageNotice, type StoreOpener } from '@defstate/core';
import { warningMessage } from './output/messages.js';

export type { StoreOpener };

/**
 * Opens the versioned store the way every command does: `--storage`, DEFSTATE_STORAGE_URL,
 * DEFSTATE_HOME, or the embedded default, which is announced once on stderr (as a missing
 * instance config should be: it works, but it is only this machine).
 */
export function storeOpener(projectRoot: string, storageUrl: string | undefined): StoreOpener {
  return createStoreOpener({
    projectRoot,
    storageUrl,
    onDefault: (location) => warningMessage(defaultStorageNotice(location)),
  });
}
