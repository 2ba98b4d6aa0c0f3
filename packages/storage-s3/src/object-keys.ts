import { StorageError } from '@defstate/core';

/**
 * How store object names map to S3 keys: `<prefix>/<name>`, byte for byte. S3 keys are opaque
 * UTF-8 strings, so no escaping is needed; only names that an HTTP path could normalise away
 * (`.`/`..`/empty segments) or that S3 cannot hold are refused, with the same rules as core's
 * file store so a name valid in one store is valid in all.
 */

/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
// A lone surrogate has no UTF-8 form; two names differing only there would share one key.
const LONE_SURROGATE = /\p{Cs}/u;

/** The key prefix every object of a store lives under: `''` or `'some/prefix/'`. */
export function keyRoot(prefix: string): string {
  return prefix === '' ? '' : `${prefix}/`;
}

export function objectKey(root: string, name: string): string {
  const bad =
    name.length === 0 ||
    LONE_SURROGATE.test(name) ||
    name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) throw new StorageError(`Invalid object name ${JSON.stringify(name)}.`);
  const key = root + name;
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new StorageError(
      `Object name ${JSON.stringify(name)} makes an S3 key longer than ${MAX_KEY_BYTES} bytes.`,
      { hint: 'Use a shorter prefix or key.' },
    );
  }
  return key;
}

/** A list prefix may be empty or end in a partial segment; it only needs the root in front. */
export function listKeyPrefix(root: string, prefix: string): string {
  return root + prefix;
}
