import { StorageError } from '../errors.js';

/**
 * The one name check every store makes, so a name valid in one store is valid in all, and the
 * mapping of names to keys under a store's prefix.
 *
 * Object names are `/`-separated, relative to the store's root, well-formed Unicode, with no
 * empty, `.` or `..` segment: such segments would let two spellings name one object (`a//b`,
 * `a/./b`) or reach outside the root (`../x`) once an HTTP path or a file system normalises them.
 * A lone surrogate has no UTF-8 form, so two names differing only there would share one key.
 */

const LONE_SURROGATE = /\p{Cs}/u;

export interface ObjectNameRules {
  /** Characters this store cannot hold in a key, e.g. `/[\r\n]/` for GCS. */
  forbidden?: RegExp;
  /** The longest key the store accepts, in UTF-8 bytes, prefix included (S3 and GCS: 1024). */
  maxKeyBytes?: number;
  /** What the store calls a key, for messages: `S3 key`, `blob name`. */
  keyWord?: string;
}

/** Whether `name` is a valid object name (see the file comment). */
export function isObjectName(name: string, rules: ObjectNameRules = {}): boolean {
  return (
    name.length > 0 &&
    !LONE_SURROGATE.test(name) &&
    !(rules.forbidden?.test(name) ?? false) &&
    name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}

/** Throws `StorageError` for a name no store may hold. */
export function assertObjectName(name: string, rules: ObjectNameRules = {}): void {
  if (!isObjectName(name, rules)) {
    throw new StorageError(`Invalid object name ${JSON.stringify(name)}.`, {
      hint: 'Object names are "/"-separated, with no empty, "." or ".." segment.',
    });
  }
}

/** `''` or `prefix/`: what every key of a store under `prefix` starts with. */
export function prefixRoot(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/**
 * Names ↔ keys for a store whose objects live under a prefix of a bucket or container: `keyOf`
 * checks the name and puts the root in front, `nameOf` takes it off a listed key.
 */
export class ObjectKeys {
  /** `''` or `prefix/`. */
  readonly root: string;
  readonly #rules: ObjectNameRules;

  constructor(prefix: string, rules: ObjectNameRules = {}) {
    this.root = prefixRoot(prefix);
    this.#rules = rules;
  }

  /** The store's key for an object name; throws `StorageError` for an invalid or too long one. */
  keyOf(name: string): string {
    assertObjectName(name, this.#rules);
    const key = this.root + name;
    const { maxKeyBytes } = this.#rules;
    if (maxKeyBytes !== undefined && Buffer.byteLength(key) > maxKeyBytes) {
      throw new StorageError(
        `Object name ${JSON.stringify(name)} makes ${this.#rules.keyWord ?? 'a key'} longer than ${maxKeyBytes} bytes.`,
        { hint: 'Use a shorter prefix or state key.' },
      );
    }
    return key;
  }

  /** The object name of a listed key, or `undefined` for a key outside the root. */
  nameOf(key: string): string | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const name = key.slice(this.root.length);
    return name === '' ? undefined : name;
  }

  /** A list prefix may be empty or end in a partial segment; it only needs the root in front. */
  listPrefixOf(prefix: string): string {
    return this.root + prefix;
  }
}
