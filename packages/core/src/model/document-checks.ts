import type { PinFile } from './pin-file.js';
import type { PointerShard } from './pointer.js';
import type { ManagementType, StateInfo } from './state-info.js';
import { isStateKey } from './state-key.js';
import { isStateVersion } from './state-version.js';

/**
 * Checks by hand of the documents defstate reads by the thousand (pointer shards, the refresh
 * record) or at an app's start-up (the pin file, local records), in plain code: about twenty times
 * faster than their zod schemas, and with no import of zod, which costs an app's start-up about
 * 100 ms. Each says yes only where its schema succeeds and returns the value unchanged; a reader
 * that gets no runs the schema, which says what is wrong (`parseJsonDocument`).
 * test/trusted-documents.test.ts holds every check to its schema.
 */

export const STATE_INFO_SCHEMA_VERSION = 1;
export const POINTER_LAYOUT_VERSION = 2;
export const PIN_FILE_SCHEMA_VERSION = 1;

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What `z.iso.datetime()` accepts (its pattern for `{ precision: null, offset: false, local:
 * false }`, written out): UTC, any fraction of a second, a real date.
 */
const DATE_TIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z))$/;

/** `z.iso.datetime()` as plain code. */
export function isDateTime(value: unknown): value is string {
  return typeof value === 'string' && DATE_TIME.test(value);
}

/** A whole number zod's `.int()` accepts, at least `min`. */
export function isWholeNumber(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/** A plain object (what JSON.parse makes of `{…}`), not an array or null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether every own entry of `record` passes `check`, without building an array of thousands. */
export function everyEntry(
  record: Record<string, unknown>,
  check: (name: string, entry: unknown) => boolean,
): boolean {
  for (const name in record) {
    if (!Object.hasOwn(record, name) || !check(name, record[name])) return false;
  }
  return true;
}

/** `ManagementTypeSchema`: `local` or `versioned`. */
export function isManagementType(value: unknown): value is ManagementType {
  return value === 'versioned' || value === 'local';
}

/** `StateInfoSchema`, with `generation` required when `generation` says so. */
export function isStateInfo(
  value: unknown,
  generation: 'optional' | 'required' = 'optional',
): value is StateInfo {
  if (!isRecord(value)) return false;
  let fields = 6;
  if (value.generation !== undefined || generation === 'required') {
    if (!isWholeNumber(value.generation, 1)) return false;
    fields++;
  }
  return (
    Object.keys(value).length === fields &&
    isStateKey(value.key) &&
    isManagementType(value.management) &&
    isStateVersion(value.version) &&
    isDateTime(value.createdAt) &&
    typeof value.sha256 === 'string' &&
    SHA256_HEX.test(value.sha256) &&
    isWholeNumber(value.size, 0)
  );
}

/** Whether `keys` files each `StateInfo` under its own key (`entriesNameTheirKeys`). */
function isKeyedStateInfo(keys: unknown, generation: 'optional' | 'required'): boolean {
  return (
    isRecord(keys) &&
    everyEntry(
      keys,
      (key, entry) => isStateKey(key) && isStateInfo(entry, generation) && entry.key === key,
    )
  );
}

/** `PointerShardSchema`. */
export function isPointerShard(value: unknown): value is PointerShard {
  return (
    isRecord(value) &&
    Object.keys(value).length === 3 &&
    value.schemaVersion === POINTER_LAYOUT_VERSION &&
    isWholeNumber(value.shard, 0) &&
    isKeyedStateInfo(value.keys, 'required')
  );
}

/** `PinFileSchema`. */
export function isPinFile(value: unknown): value is PinFile {
  return (
    isRecord(value) &&
    Object.keys(value).length === 4 &&
    value.schemaVersion === PIN_FILE_SCHEMA_VERSION &&
    isDateTime(value.pinnedAt) &&
    (value.store === null || typeof value.store === 'string') &&
    isKeyedStateInfo(value.keys, 'optional')
  );
}
