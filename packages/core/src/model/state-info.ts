import { z } from 'zod';
import { isStateKey, StateKeySchema } from './state-key.js';
import { isStateVersion, StateVersionSchema } from './state-version.js';

export const ManagementTypeSchema = z
  .enum(['local', 'versioned'])
  .describe(
    'local: state lives in .local_defs_state inside the project; versioned: immutable versions in a storage backend.',
  );
export type ManagementType = z.infer<typeof ManagementTypeSchema>;
export const MANAGEMENT_TYPES: readonly ManagementType[] = ManagementTypeSchema.options;

/** The pattern `z.iso.datetime()` checks: UTC, any fraction of a second, a real date. */
const DATE_TIME = z.regexes.datetime({ precision: null, offset: false, local: false });
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What is known about the current state of one key. */
export const StateInfoSchema = z
  .object({
    key: StateKeySchema,
    management: ManagementTypeSchema,
    version: StateVersionSchema,
    createdAt: z.iso.datetime().describe('When this version was created (ISO 8601, UTC).'),
    sha256: z
      .string()
      .regex(SHA256_HEX, 'a sha256 is 64 lowercase hex digits')
      .describe('Hex sha256 of the state bytes.'),
    size: z.number().int().nonnegative().describe('Size of the state in bytes.'),
    generation: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Versioned state: the commit that made this version latest, counted per key by the store (see the pointer entry).',
      ),
  })
  .strict();
export type StateInfo = z.infer<typeof StateInfoSchema>;

/** `z.iso.datetime()` as plain code: true only where the schema succeeds. */
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

/**
 * `StateInfoSchema` (with `generation` required when `generation` says so) as plain code, about
 * twenty times faster: pointer shards and the refresh record hold thousands of these, and status
 * reads them all. True only where the schema succeeds and returns the value unchanged; callers
 * that get false run the schema, which says what is wrong. test/trusted-documents.test.ts holds
 * it to that.
 */
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
    (value.management === 'versioned' || value.management === 'local') &&
    isStateVersion(value.version) &&
    isDateTime(value.createdAt) &&
    typeof value.sha256 === 'string' &&
    SHA256_HEX.test(value.sha256) &&
    isWholeNumber(value.size, 0)
  );
}

export const STATE_INFO_SCHEMA_VERSION = 1;

/** A refinement for documents that file `StateInfo`s by key: each must name its own key. */
export function entriesNameTheirKeys(
  document: { keys: Record<string, StateInfo> },
  context: z.RefinementCtx,
): void {
  for (const [key, info] of Object.entries(document.keys)) {
    if (info.key !== key) {
      context.addIssue({
        code: 'custom',
        path: ['keys', key, 'key'],
        message: `entry is filed under "${key}" but names key "${info.key}"`,
      });
    }
  }
}

/**
 * The state info document: one per store, holding the latest `StateInfo` of every versioned key.
 * It is the "latest" pointer; it moves only by compare-and-swap.
 */
export const StateInfoDocumentSchema = z
  .object({
    schemaVersion: z.literal(STATE_INFO_SCHEMA_VERSION),
    updatedAt: z.iso.datetime(),
    keys: z.record(StateKeySchema, StateInfoSchema),
  })
  .strict()
  .superRefine(entriesNameTheirKeys);
export type StateInfoDocument = z.infer<typeof StateInfoDocumentSchema>;

export function emptyStateInfoDocument(now: Date = new Date()): StateInfoDocument {
  return { schemaVersion: STATE_INFO_SCHEMA_VERSION, updatedAt: now.toISOString(), keys: {} };
}
