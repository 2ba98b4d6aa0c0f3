import { z } from 'zod';
import { SHA256_HEX, STATE_INFO_SCHEMA_VERSION } from './document-checks.js';
import { StateKeySchema, StateVersionSchema } from './name-schemas.js';

export const ManagementTypeSchema = z
  .enum(['local', 'versioned'])
  .describe(
    'local: state lives in .local_defs_state inside the project; versioned: immutable versions in a storage backend.',
  );
export type ManagementType = z.infer<typeof ManagementTypeSchema>;
export const MANAGEMENT_TYPES: readonly ManagementType[] = ManagementTypeSchema.options;

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
