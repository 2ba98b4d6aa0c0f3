import { InvalidKeyError } from '../errors.js';

/**
 * Longest key accepted, in characters (Unicode code points, as zod counts a string's length: an
 * emoji is one). Long enough for any real name, short enough to log.
 */
export const MAX_KEY_LENGTH = 512;

// C0 and C1 control characters and DEL: they would corrupt logs, terminals and file names.
// biome-ignore lint/suspicious/noControlCharactersInRegex: this is the control-character rule.
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// A lone UTF-16 surrogate has no UTF-8 form: it would encode as U+FFFD, so two such keys would
// share a folder. With the `u` flag a surrogate pair is one code point and never matches.
export const LONE_SURROGATE = /\p{Cs}/u;

/** What each rule of a state key says when a key breaks it (`StateKeySchema` says the same). */
export const STATE_KEY_RULES = {
  empty: 'a state key must not be empty',
  tooLong: `a state key must be at most ${MAX_KEY_LENGTH} characters`,
  control: 'a state key must not contain control characters',
  loneSurrogate: 'a state key must be well-formed Unicode (no lone surrogates)',
  // Pointer shards, pin files and records file their entries in objects by key, and JavaScript
  // reads an entry named `__proto__` as the object's prototype: it would be dropped unseen.
  proto: 'a state key must not be "__proto__" (a name JavaScript objects reserve)',
} as const;

/**
 * A state key: the stable name of a component's state. Any character but control characters and
 * lone surrogates; any name but `__proto__`.
 */
export type StateKey = string;

/**
 * The first rule `key` breaks, in the words of `STATE_KEY_RULES`, or `undefined` for a valid key.
 * Plain code, so that loading state at start-up does not import zod (`StateKeySchema`, in
 * name-schemas.ts, applies the same rules; test/trusted-documents.test.ts holds them together).
 */
export function stateKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'a state key must be a string';
  if (key.length < 1) return STATE_KEY_RULES.empty;
  // A code point is one or two UTF-16 units: only a key longer in units can be too long.
  if (key.length > MAX_KEY_LENGTH && codePoints(key) > MAX_KEY_LENGTH)
    return STATE_KEY_RULES.tooLong;
  if (CONTROL_CHARACTER.test(key)) return STATE_KEY_RULES.control;
  if (LONE_SURROGATE.test(key)) return STATE_KEY_RULES.loneSurrogate;
  if (key === '__proto__') return STATE_KEY_RULES.proto;
  return undefined;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Whether `value` is a valid state key: for documents that file thousands of entries by key. */
export function isStateKey(value: unknown): value is StateKey {
  return stateKeyProblem(value) === undefined;
}

/** Returns `key` if it is a valid state key, otherwise throws `InvalidKeyError` saying why. */
export function assertStateKey(key: unknown): StateKey {
  const problem = stateKeyProblem(key);
  if (problem === undefined) return key as StateKey;
  throw new InvalidKeyError(`Invalid state key ${JSON.stringify(key)}: ${problem}.`);
}
