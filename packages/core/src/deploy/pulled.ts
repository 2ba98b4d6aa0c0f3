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
