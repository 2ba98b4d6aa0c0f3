import { type BlobStore, defaultStorageNotice, openStore, resolveStorage } from '@defstate/core';
import { paint, terminalFor } from './output/terminal.js';

/**
 * Opens the versioned store the way every command does: `--storage`, DEFSTATE_STORAGE_URL,
 * DEFSTATE_HOME, or the embedded default, which is announced once on stderr (as a missing
 * instance config should be: it works, but it is only this machine).
 */
export interface StoreOpener {
  /** Opens the store on first call; later calls share it. */
  open: () => Promise<BlobStore>;
  /** Closes the store if it was opened, so its connections end cleanly before the exit. */
  close: () => Promise<void>;
}

export function storeOpener(projectRoot: string, storageUrl: string | undefined): StoreOpener {
  let opened: Promise<BlobStore> | undefined;
  const open = () => {
    opened ??= (async () => {
      const selection = await resolveStorage({ storageUrl, cwd: projectRoot });
      const store = await openStore(selection, { projectRoot });
      if (selection.source === 'default') {
        const terminal = terminalFor(process.stderr);
        terminal.line(
          `${paint(terminal, 'yellow', 'warning')} ${defaultStorageNotice(store.location)}`,
        );
      }
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
