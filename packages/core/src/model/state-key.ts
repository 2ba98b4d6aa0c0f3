import { z } from 'zod';
import { InvalidKeyError } from '../errors.js';

/** Longest key accepted, in UTF-16 code units. Long enough for any real name, short enough to log. */
export const MAX_KEY_LENGTH = 512;

// C0 and C1 control characters and DEL: they would corrupt logs, terminals and file names.
// biome-ignore lint/suspicious/noControlCharactersInRegex: this is the control-character rule.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// A lone UTF-16 surrogate has no UTF-8 form: it would encode as U+FFFD, so two such keys would
// share a folder. With the `u` flag a surrogate pair is one code point and never matches.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A state key: the stable name of a component's state. Any character but control characters and
 * lone surrogates; any name but `__proto__`.
 */
export const StateKeySchema = z
  .string()
  .min(1, 'a state key must not be empty')
  .max(MAX_KEY_LENGTH, `a state key must be at most ${MAX_KEY_LENGTH} characters`)
  .refine((key) => !CONTROL_CHARACTER.test(key), 'a state key must not contain control characters')
  .refine(
    (key) => !LONE_SURROGATE.test(key),
    'a state key must be well-formed Unicode (no lone surrogates)',
  )
  // Pointer shards, pin files and records file their entries in objects by key, and JavaScript
  // reads an entry named `__proto__` as the object's prototype: it would be dropped unseen.
  .refine(
    (key) => key !== '__proto__',
    'a state key must not be "__proto__" (a name JavaScript objects reserve)',
  )
  .describe('The stable name of a component state. Non-empty, no control characters.');

export type StateKey = z.infer<typeof StateKeySchema>;

/**
 * `StateKeySchema`'s rules as plain code, for documents that file thousands of entries by key:
 * true only where the schema succeeds (test/trusted-documents.test.ts holds it to that).
 */
export function isStateKey(value: unknown): value is StateKey {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= MAX_KEY_LENGTH &&
    value !== '__proto__' &&
    !CONTROL_CHARACTER.test(value) &&
    !LONE_SURROGATE.test(value)
  );
}

/** Returns `key` if it is a valid state key, otherwise throws `InvalidKeyError` saying why. */
export function assertStateKey(key: unknown): StateKey {
  const result = StateKeySchema.safeParse(key);
  if (result.success) return result.data;
  const reason = result.error.issues[0]?.message ?? 'invalid state key';
  throw new InvalidKeyError(`Invalid state key ${JSON.stringify(key)}: ${reason}.`);
}
