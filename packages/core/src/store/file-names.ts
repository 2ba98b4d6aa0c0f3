import { StorageError } from '../errors.js';
import { escapeName, unescapeName } from '../model/key-folder.js';

/**
 * How a folder-backed store turns each `/`-separated segment of an object name into a file name
 * and back. Both namings are injective and case-safe (no two names share a file, even on a disk
 * that folds case), never produce `.`, `..`, a leading dot or a Windows device name, and are
 * undone exactly when listing.
 */
export interface ObjectNaming {
  readonly version: 1 | 2;
  toFile(segment: string): string;
  fromFile(file: string): string;
}

/** Holds `{"names": 2}` in the root of a store created with the current naming. */
export const NAMING_MARKER = '.defstate-store.json';
export const NAMING_VERSION = 2;

const MAX_FILE_NAME_BYTES = 255;
/** Characters that are safe in a file name everywhere and need no escaping. */
const PLAIN = /^[a-z0-9_~^-][a-z0-9._~^-]*$/;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/;
const ESCAPED_MARK = '=';

/**
 * The current naming: a segment made only of safe characters (which is what core's key folders,
 * version ids and record names are: they are escaped once already, by `keyToFolder`) is its own
 * file name. Anything else is `=` followed by its escaped form (`escapeName`, with a trailing dot
 * escaped too). A plain name never starts with `=`, and an escaped one always does.
 */
export const currentNaming: ObjectNaming = {
  version: 2,
  toFile(segment) {
    const plain = PLAIN.test(segment) && !segment.endsWith('.') && !WINDOWS_DEVICE.test(segment);
    const file = plain ? segment : `${ESCAPED_MARK}${escapeTrailingDot(escapeName(segment))}`;
    return checkLength(file, segment);
  },
  fromFile(file) {
    return file.startsWith(ESCAPED_MARK) ? unescapeName(file.slice(1)) : file;
  },
};

/**
 * The naming of stores created before the current one: every segment escaped by `escapeName`,
 * which escaped core's key folders a second time (`^a` became `~5ea`) and pushed long non-ASCII
 * keys past the file-name limit. Such stores keep it, so every object stays where it is; a segment
 * whose escaped form would be too long, which could never be stored before, is kept as `=` and the
 * segment itself when that is safe (`escapeName` never writes a `=`, so the two cannot meet).
 */
export const legacyNaming: ObjectNaming = {
  version: 1,
  toFile(segment) {
    const escaped = escapeName(segment);
    if (Buffer.byteLength(escaped) <= MAX_FILE_NAME_BYTES) return escaped;
    if (PLAIN.test(segment) && !segment.endsWith('.') && !WINDOWS_DEVICE.test(segment)) {
      return checkLength(`${ESCAPED_MARK}${segment}`, segment);
    }
    return checkLength(escaped, segment);
  },
  fromFile(file) {
    return file.startsWith(ESCAPED_MARK) ? file.slice(1) : unescapeName(file);
  },
};

function escapeTrailingDot(escaped: string): string {
  return escaped.endsWith('.') ? `${escaped.slice(0, -1)}~2e` : escaped;
}

function checkLength(file: string, segment: string): string {
  if (Buffer.byteLength(file) <= MAX_FILE_NAME_BYTES) return file;
  throw new StorageError(
    `The object name segment ${JSON.stringify(segment.slice(0, 60))}… is too long for a file store (${Buffer.byteLength(file)} bytes as a file name; the limit is ${MAX_FILE_NAME_BYTES}).`,
    {
      hint: 'Use shorter object names; state keys of any length are shortened by defstate itself.',
    },
  );
}
