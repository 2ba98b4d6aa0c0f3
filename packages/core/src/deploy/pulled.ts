import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { localStateRoot } from '../local/local-state.js';
import { keyToFolder } from '../model/key-folder.js';
import type { StateInfo } from '../model/state-info.js';

/**
 * Where `defstate pull` puts a versioned state inside the project, so that the artifact carries it
 * and starts with no storage access: `.local_defs_state/.pulled/<key folder>/<version>`. A leading
 * dot never begins a key folder, so the name cannot meet a key's.
 */
export const PULLED_DIR = '.pulled';

export function pulledKeyFolder(projectRoot: string, key: string): string {
  return join(localStateRoot(projectRoot), PULLED_DIR, keyToFolder(key));
}

export function pulledStatePath(projectRoot: string, info: StateInfo): string {
  return join(pulledKeyFolder(projectRoot, info.key), info.version);
}

/**
 * Removes pulled copies the pins no longer name: older versions of pinned keys and keys no longer
 * pinned, so an artifact carries only what it loads.
 */
export async function removeStalePulled(
  projectRoot: string,
  pinned: Readonly<Record<string, StateInfo>>,
): Promise<void> {
  const root = join(localStateRoot(projectRoot), PULLED_DIR);
  const wanted = new Map(
    Object.values(pinned).map((info) => [keyToFolder(info.key), info.version]),
  );
  const remove = (path: string) => rm(path, { recursive: true, force: true });
  for (const folder of await readdir(root).catch(() => [] as string[])) {
    const version = wanted.get(folder);
    if (!version) {
      await remove(join(root, folder));
      continue;
    }
    const entries = await readdir(join(root, folder)).catch(() => [] as string[]);
    await Promise.all(
      entries
        .filter((entry) => entry !== version)
        .map((entry) => remove(join(root, folder, entry))),
    );
  }
}
