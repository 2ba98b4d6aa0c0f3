import { hash } from 'node:crypto';
import { keyToFolder } from '../model/key-folder.js';
import type { StateInfo } from '../model/state-info.js';
import { type StateVersion, versionCreatedAt } from '../model/state-version.js';

/**
 * Where the versioned protocol keeps things inside a store (relative to the adapter's prefix):
 *
 *   layout.json                     the layout manifest: written once, says how the pointer is
 *                                   spread and records that the store's conditional writes work
 *   pointer/<shard>.json            the latest pointer, spread over shards by a hash of the key;
 *                                   each shard moves by compare-and-swap
 *   state-info.json                 the first layout's single pointer document; in a store of
 *                                   this layout, a stub that tells older versions to upgrade
 *   states/<key folder>/<version>   one immutable object per state version (created once)
 *   published/<key folder>/<version>.<sha256>.<size>
 *                                   the record of a finished upload: written (create-only) before
 *                                   any pointer names the version. A state object without one is
 *                                   an orphan of a crashed refresh. The name alone carries the
 *                                   version's info, so a key's history is two listings.
 *   lease/maintenance.json          the store-wide maintenance lease (prune, rollback, upgrade)
 *   probe/<random>                  short-lived objects that test the store's conditional writes
 *   refresh-timings.json            each key's last refresh duration: a hint for sharded runs
 *   shard-plans/<id>.json           the partition the shards of one CI run share (create-only)
 */
export const LAYOUT_OBJECT = 'layout.json';
export const POINTER_PREFIX = 'pointer/';
export const STATE_INFO_OBJECT = 'state-info.json';
export const STATES_PREFIX = 'states/';
export const PUBLISHED_PREFIX = 'published/';
export const LEASE_OBJECT = 'lease/maintenance.json';
export const PROBE_PREFIX = 'probe/';
export const REFRESH_TIMINGS_OBJECT = 'refresh-timings.json';
export const SHARD_PLANS_PREFIX = 'shard-plans/';

/** Shards of a store created now. A store keeps the count its manifest records. */
export const DEFAULT_POINTER_SHARDS = 32;

/**
 * The shard a key's pointer entry lives in: the first four bytes of the key's sha256, read as an
 * unsigned big-endian number, modulo the shard count. Stable across versions and machines.
 */
export function shardOf(key: string, shards: number): number {
  // The one-shot `hash` costs a fraction of a `createHash` object, and status hashes every key.
  return hash('sha256', key, 'buffer').readUInt32BE(0) % shards;
}

export function pointerShardName(shard: number): string {
  return `${POINTER_PREFIX}${String(shard).padStart(4, '0')}.json`;
}

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
