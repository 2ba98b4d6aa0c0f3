import { environmentSecrets, findSecrets, REDACTED, redactSecrets } from '@defstate/core';

/**
 * What the CLI prints passes through `redactText`: core's patterns (URL userinfo, credential query
 * parameters, connection-string keys, Authorization values) and, wherever they appear on their
 * own, the secrets this run was given: the credentials in its environment and in `--storage`. An
 * SDK or a component may quote a password decoded, or a token without its parameter name.
 */
const known = new Set<string>();
// Longest first, so that a secret holding a shorter one is hidden whole.
let ordered: string[] = [];

/** Hides these values, wherever they appear, in everything redacted from now on. */
export function hideSecrets(values: Iterable<string>): void {
  for (const value of values) known.add(value);
  ordered = [...known].sort((a, b) => b.length - a.length);
  secretsAdded++;
}

/**
 * Documents already redacted, with the count of `hideSecrets` calls at the time: a status view is
 * redacted when it is built and again when it is printed, and the second pass over 10,000 keys
 * would find nothing new unless a secret was added in between. (Documents are not changed once
 * built; one that were would need redacting again, by a copy.)
 */
const redactedDocuments = new WeakMap<object, number>();
let secretsAdded = 0;

/** The secrets of an environment and of a storage URL given on the command line. */
export function hideSecretsOf(env: NodeJS.ProcessEnv, storageUrl?: string): void {
  hideSecrets([...environmentSecrets(env), ...(storageUrl ? findSecrets(storageUrl) : [])]);
}

export function redactText(text: string): string {
  let result = text;
  for (const secret of ordered) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return redactSecrets(result);
}

/**
 * A JSON document (a `--json` report, a status view, an API answer) with every string in it
 * redacted; property names, numbers and the shape stay as they are. A part with nothing to redact
 * is returned as it is, not copied: a status of 10,000 keys holds some 150,000 values, and
 * usually not one secret.
 */
export function redactDocument<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return redactValue(value);
  if (redactedDocuments.get(value) === secretsAdded) return value;
  const redacted = redactValue(value);
  redactedDocuments.set(redacted, secretsAdded);
  return redacted;
}

function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  // Loops rather than entries and maps, for the same reason.
  if (Array.isArray(value)) {
    let items: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item = redactValue(value[index]);
      if (item !== value[index]) {
        items ??= value.slice();
        items[index] = item;
      }
    }
    return (items ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  const source = value as Record<string, unknown>;
  const names = Object.keys(source);
  let copy: Record<string, unknown> | undefined;
  for (let index = 0; index < names.length; index++) {
    const name = names[index] as string;
    const item = redactValue(source[name]);
    if (copy === undefined) {
      if (item === source[name]) continue;
      copy = {};
      for (const earlier of names.slice(0, index)) setData(copy, earlier, source[earlier]);
    }
    setData(copy, name, item);
  }
  return (copy ?? value) as T;
}

/** Sets a property; a `__proto__` name is data here, defined so that it never sets a prototype. */
function setData(target: Record<string, unknown>, name: string, item: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, {
      value: item,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[name] = item;
  }
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
