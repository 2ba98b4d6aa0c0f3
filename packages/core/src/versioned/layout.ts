import { keyToFolder } from '../model/key-folder.js';
import type { StateVersion } from '../model/state-version.js';

/**
 * Where the versioned protocol keeps things inside a store (relative to the adapter's prefix):
 *
 *   state-info.json                 the latest pointer for every key (replaced by compare-and-swap)
 *   states/<key folder>/<version>   one immutable object per state version (created once)
 */
export const STATE_INFO_OBJECT = 'state-info.json';
export const STATES_PREFIX = 'states/';

export function stateObjectName(key: string, version: StateVersion): string {
  return `${STATES_PREFIX}${keyToFolder(key)}/${version}`;
}

export function stateObjectPrefix(key: string): string {
  return `${STATES_PREFIX}${keyToFolder(key)}/`;
}
