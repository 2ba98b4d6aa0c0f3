import { stat } from 'node:fs/promises';
import { createLimit } from '../async/limit.js';
import { STORE_RETRY_POLICY, withRetry } from '../async/retry.js';
import { BlobNotFoundError, UsageError } from '../errors.js';
import type { PinFile } from '../model/pin-file.js';
import type { StateInfo } from '../model/state-info.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { BlobStore } from '../store/blob-store.js';
import { downloadStateVersion } from '../versioned/transfer.js';
import { pinProject } from './pin-project.js';
import { pinFilePath, pinnedVersionMissing, readPins } from './pins.js';
import { pulledStatePath, removeStalePulled } from './pulled.js';

export interface PullOptions {
  /** Only these keys (their versioned ones); every declared versioned key by default. */
  keys?: readonly string[];
  openStore: () => Promise<BlobStore>;
  signal?: AbortSignal;
  now?: Date;
}

export interface PullReport {
  keys: { key: string; info: StateInfo; downloaded: boolean }[];
  pins: PinFile;
  /** The pin file was written by this pull (there was none: the latest versions were pinned). */
  wrotePins: boolean;
  pinFile: string;
  storeLocation: string;
}

/**
 * Downloads the pinned versions of versioned keys into `.local_defs_state/.pulled/`, so that the
 * artifact loads them with no storage access. Without a pin file it pins every declared key at
 * its latest state first: a pulled artifact must say which versions it carries. Each download is
 * sha256-checked; one already in place is kept; pulled copies the pins no longer name are removed.
 */
export async function pullState(project: Project, options: PullOptions): Promise<PullReport> {
  const { signal } = options;
  const components = selectComponents(project, options.keys).filter(
    (component) => component.management === 'versioned',
  );
  const store = await options.openStore();
  let pins = await readPins(project.root);
  const wrotePins = pins === undefined;
  pins ??= await pinProject(project, { store, now: options.now, signal });
  const pinned = pins;
  const unpinned = components.filter(({ key }) => !pinned.keys[key]);
  if (unpinned.length > 0) {
    throw new UsageError(
      `${unpinned.map(({ key }) => `"${key}"`).join(', ')} not in the pin file ${pinFilePath(project.root)}.`,
      { hint: 'The pins predate these components: deploy again (`defstate deploy`), then pull.' },
    );
  }
  const limit = createLimit(4);
  const keys = await Promise.all(
    components.map(({ key }) =>
      limit(async () => {
        const info = pinned.keys[key] as StateInfo;
        const target = pulledStatePath(project.root, info);
        const present = await stat(target).then(
          (stats) => stats.isFile() && stats.size === info.size,
          () => false,
        );
        if (!present) {
          await withRetry(() => downloadStateVersion(store, info, target, { signal }), {
            policy: STORE_RETRY_POLICY,
            signal,
          }).catch((error: unknown) => {
            if (error instanceof BlobNotFoundError)
              throw pinnedVersionMissing(info, store.location, pinned, error);
            throw error;
          });
        }
        return { key, info, downloaded: !present };
      }),
    ),
  );
  await removeStalePulled(project.root, pinned.keys);
  return {
    keys,
    pins,
    wrotePins,
    pinFile: pinFilePath(project.root),
    storeLocation: store.location,
  };
}
