import { keyToFolder } from '../model/key-folder.js';
import type { StateInfo } from '../model/state-info.js';
import { type StateVersion, versionCreatedAt } from '../model/state-version.js';

/**
 * Where the versioned protocol keeps things inside a store (relative to the adapter's prefix):
 *
 *   state-info.json                 the latest pointer for every key (replaced by compare-and-swap)
 *   states/<key folder>/<version>   one immutable object per state version (created once)
 *   published/<key folder>/<version>.<sha256>.<size>
 *                                   the record that a refresh finished with that version: written
 *                                   once its pointer update went through. A state object without
 *                                   one is an orphan of a crashed refresh. The name alone carries
 *                                   the version's info, so a key's history is two listings.
 */
export const STATE_INFO_OBJECT = 'state-info.json';
export const STATES_PREFIX = 'states/';
export const PUBLISHED_PREFIX = 'published/';

export function stateObjectName(key: string, version: StateVersion): string {
  return `${STATES_PREFIX}${keyToFolder(key)}/${version}`;
}

export function stateObjectPrefix(key: string): string {
  return `${STATES_PREFIX}${keyToFolder(key)}/`;
}

export function publishedRecordPrefix(key: string): string {
  return `${PUBLISHED_PREFIX}${keyToFolder(key)}/`;
}

export function publishedRecordName(info: StateInfo): string {
  return `${publishedRecordPrefix(info.key)}${info.version}.${info.sha256}.${info.size}`;
}

const VERSION_NAME = /^(\d{8}T\d{9}Z-[0-9a-f]{12})$/;
const RECORD_NAME = /^(\d{8}T\d{9}Z-[0-9a-f]{12})\.([0-9a-f]{64})\.(\d+)$/;

/** The version a state object holds, from its name; `undefined` for a name that is not one. */
export function parseStateObjectName(key: string, name: string): StateVersion | undefined {
  const prefix = stateObjectPrefix(key);
  if (!name.startsWith(prefix)) return undefined;
  return VERSION_NAME.exec(name.slice(prefix.length))?.[1];
}

/** The info a published record names, from its name alone. */
export function parsePublishedRecordName(key: string, name: string): StateInfo | undefined {
  const prefix = publishedRecordPrefix(key);
  if (!name.startsWith(prefix)) return undefined;
  const match = RECORD_NAME.exec(name.slice(prefix.length));
  if (!match) return undefined;
  const [, version, sha256, size] = match as unknown as [string, string, string, string];
  return {
    key,
    management: 'versioned',
    version,
    createdAt: versionCreatedAt(version),
    sha256,
    size: Number(size),
  };
}
