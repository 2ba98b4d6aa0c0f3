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
}

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
 * redacted; property names, numbers and the shape stay as they are.
 */
export function redactDocument<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  // Loops rather than entries and maps: a status of 10,000 keys holds some 150,000 values.
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length);
    for (let index = 0; index < value.length; index++) items[index] = redactDocument(value[index]);
    return items as T;
  }
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    const item = redactDocument((value as Record<string, unknown>)[name]);
    // A `__proto__` name is data here: defined, so that it never sets the copy's prototype.
    if (name === '__proto__') {
      Object.defineProperty(copy, name, {
        value: item,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      copy[name] = item;
    }
  }
  return copy as T;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
