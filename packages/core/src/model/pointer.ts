import { z } from 'zod';
import { POINTER_LAYOUT_VERSION } from './document-checks.js';
import { StateKeySchema } from './name-schemas.js';
import { entriesNameTheirKeys, StateInfoSchema } from './state-info.js';

/**
 * The documents of the versioned protocol's second layout (see docs/architecture.md): a
 * write-once layout manifest, the latest pointer spread over shard documents, and the stub that
 * replaces the first layout's single pointer document so that older writers stop.
 */

/** One key's entry in the latest pointer: its current state and the generation that set it. */
export const PointerEntrySchema = StateInfoSchema.extend({
  generation: z
    .number()
    .int()
    .positive()
    .describe(
      'How many times this key has been committed: 1 for its first version, previous + 1 for each compare-and-swap that moved it. The store orders commits; no clock does.',
    ),
}).strict();
export type PointerEntry = z.infer<typeof PointerEntrySchema>;

/** One shard of the latest pointer: the entries of the keys that hash to it. */
export const PointerShardSchema = z
  .object({
    schemaVersion: z.literal(POINTER_LAYOUT_VERSION),
    shard: z.number().int().nonnegative(),
    keys: z.record(StateKeySchema, PointerEntrySchema),
  })
  .strict()
  .superRefine(entriesNameTheirKeys);
export type PointerShard = z.infer<typeof PointerShardSchema>;

/** What proved that the store honours conditional writes (or that its owner waived the proof). */
export const ConditionalWriteProofSchema = z.union([
  z
    .object({
      endpoint: z.string().describe('Where the proving requests went.'),
      verifiedAt: z.iso.datetime(),
    })
    .strict(),
  z
    .object({
      waived: z.literal(true).describe('Written with DEFSTATE_ACCEPT_LOST_UPDATES: not proven.'),
      endpoint: z.string(),
      at: z.iso.datetime(),
    })
    .strict(),
]);
export type ConditionalWriteProof = z.infer<typeof ConditionalWriteProofSchema>;

/**
 * The layout manifest (`layout.json`): written once, create-only, when a store is first written
 * with this layout. Readers read it first, and refuse a layout newer than they know.
 */
export const LayoutManifestSchema = z
  .object({
    schemaVersion: z.number().int().positive(),
    pointer: z
      .object({
        shards: z.number().int().min(1).max(4096),
        hash: z
          .literal('sha256-u32be-mod')
          .describe('shard = first 4 bytes of sha256(key) mod shards'),
      })
      .strict(),
    createdAt: z.iso.datetime(),
    conditionalWrites: ConditionalWriteProofSchema,
    upgradedFrom: z.literal('state-info.json').optional(),
  })
  .strict();
export type LayoutManifest = z.infer<typeof LayoutManifestSchema>;

/**
 * What `state-info.json`, the first layout's pointer, holds once a store uses the second layout:
 * a document that the first layout's readers and writers refuse ("does not match schema version
 * 1 … upgrade defstate"), and that tells this one where the pointer is.
 */
export const LegacyPointerStubSchema = z
  .object({
    schemaVersion: z.literal(POINTER_LAYOUT_VERSION),
    movedTo: z.literal('layout.json'),
    shards: z.number().int().min(1).max(4096),
    note: z.string(),
  })
  .strict();
export type LegacyPointerStub = z.infer<typeof LegacyPointerStubSchema>;
