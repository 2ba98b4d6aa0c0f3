import { z } from 'zod';
import { CONTROL_CHARACTER, LONE_SURROGATE, MAX_KEY_LENGTH, STATE_KEY_RULES } from './state-key.js';
import { VERSION_PATTERN } from './state-version.js';

/**
 * The zod forms of the two names every document uses, for the documents' schemas. The rules
 * themselves are plain code in state-key.ts and state-version.ts, which loading state at start-up
 * uses without importing zod; test/trusted-documents.test.ts holds both forms to the same answers.
 */

// Limits stay `min`/`max` checks, not one refinement, so that the JSON Schema carries them.
export const StateKeySchema = z
  .string()
  .min(1, STATE_KEY_RULES.empty)
  .max(MAX_KEY_LENGTH, STATE_KEY_RULES.tooLong)
  .refine((key) => !CONTROL_CHARACTER.test(key), STATE_KEY_RULES.control)
  .refine((key) => !LONE_SURROGATE.test(key), STATE_KEY_RULES.loneSurrogate)
  .refine((key) => key !== '__proto__', STATE_KEY_RULES.proto)
  .describe('The stable name of a component state. Non-empty, no control characters.');

export const StateVersionSchema = z
  .string()
  .regex(VERSION_PATTERN, 'a state version looks like 20261127T101530123Z-3f9a1c0b7d2e')
  .describe('A state version id: creation time (UTC, ms) and a random suffix; sorts by time.');
