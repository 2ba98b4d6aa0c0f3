import { createHash } from 'node:crypto';
import { assertStateKey } from './state-key.js';

/**
 * Maps a state key to one folder name, for `.local_defs_state/<folder>` and for object names in a
 * store. The mapping must be injective even where a file system folds case, must never produce a
 * name that leaves its parent (`..`, separators), and should leave ordinary keys readable.
 *
 * - `a-z 0-9 - _ .` stay as they are.
 * - An upper-case ASCII letter becomes `^` and the lower-case letter: `MyKey` → `^my^key`. So
 *   `A` and `a` differ even on a case-insensitive file system.
 * - Every other UTF-8 byte becomes `~` and two lower-case hex digits: `/` → `~2f`, `~` → `~7e`.
 * - A leading `.`, a trailing `.`, and a name that is a Windows device name (`con`, `nul`, …) get
 *   their first or last character escaped the same way, so no name is special anywhere.
 * - A name longer than 200 bytes keeps its first 150 bytes, then `~~` and 32 hex digits of the
 *   key's sha256. `~~` never occurs in an unshortened name (every `~` there is followed by hex), so
 *   shortened and unshortened names never meet, and the hash tells shortened ones apart.
 */
const KEPT = /^[a-z0-9_.-]$/;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/;
const MAX_FOLDER_BYTES = 200;
const SHORTENED_PREFIX_BYTES = 150;

function escapeCharacter(character: string): string {
  return [...Buffer.from(character, 'utf8')]
    .map((byte) => `~${byte.toString(16).padStart(2, '0')}`)
    .join('');
}

function encodeCharacter(character: string): string {
  if (KEPT.test(character)) return character;
  if (character >= 'A' && character <= 'Z') return `^${character.toLowerCase()}`;
  return escapeCharacter(character);
}

export function keyToFolder(key: string): string {
  assertStateKey(key);
  let folder = escapeName(key);
  if (key.length > 1 && key.endsWith('.')) folder = `${folder.slice(0, -1)}${escapeCharacter('.')}`;
  if (WINDOWS_DEVICE.test(folder)) folder = escapeCharacter(folder[0] as string) + folder.slice(1);
  if (Buffer.byteLength(folder) <= MAX_FOLDER_BYTES) return folder;
  // Every byte of `folder` is ASCII, so slicing by characters slices by bytes.
  const digest = createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
  return `${folder.slice(0, SHORTENED_PREFIX_BYTES)}~~${digest}`;
}

/**
 * The reversible part of the folder encoding, used on its own by stores that keep object names
 * as file names: `unescapeName(escapeName(s)) === s` for every well-formed string. A lone
 * surrogate has no UTF-8 form and comes back as U+FFFD, which is why keys and object names must
 * not contain one.
 */
export function escapeName(name: string): string {
  const characters = [...name];
  const parts = characters.map(encodeCharacter);
  if (characters[0] === '.') parts[0] = escapeCharacter('.');
  return parts.join('');
}

const ESCAPED = /\^([a-z])|((?:~[0-9a-f]{2})+)/g;

export function unescapeName(escaped: string): string {
  return escaped.replace(
    ESCAPED,
    (_match, letter: string | undefined, bytes: string | undefined) =>
      letter
        ? letter.toUpperCase()
        : Buffer.from((bytes as string).replaceAll('~', ''), 'hex').toString('utf8'),
  );
}
