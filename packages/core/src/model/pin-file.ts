import { z } from 'zod';
import { PIN_FILE_SCHEMA_VERSION } from './document-checks.js';
import { StateKeySchema } from './name-schemas.js';
import { entriesNameTheirKeys, StateInfoSchema } from './state-info.js';

/**
 * The pin file's shape: the exact version of every declared key that a deployment uses (see
 * `deploy/pins.ts` for where it lives and who writes it), and the partial pin file that one shard
 * of a sharded deploy writes for its own keys (`deploy/partial-pins.ts`).
 */
const pinFileFields = {
  schemaVersion: z.literal(PIN_FILE_SCHEMA_VERSION),
  pinnedAt: z.iso.datetime().describe('When the pins were written (ISO 8601, UTC).'),
  store: z
    .string()
    .nullable()
    .describe('The store the versioned pins are in (its location, never a secret).'),
  keys: z.record(StateKeySchema, StateInfoSchema),
};

export const PinFileSchema = z.object(pinFileFields).strict().superRefine(entriesNameTheirKeys);
export type PinFile = z.infer<typeof PinFileSchema>;

/** Which shard wrote a partial pin file, and what every shard of its run shares. */
export const PinFileShardSchema = z
  .object({
    index: z.number().int().min(1).describe('This shard, counted from 1.'),
    total: z.number().int().min(1).describe('How many shards the run has.'),
    selected: z.number().int().nonnegative().describe('How many keys the shards share.'),
    plan: z
      .string()
      .nullable()
      .describe(
        'The id of the plan the shards shared through the store; null when by count alone.',
      ),
    balancedBy: z.enum(['durations', 'count']),
  })
  .strict();
export type PinFileShard = z.infer<typeof PinFileShardSchema>;

/**
 * What `deploy --shard i/n` writes: the pins of its own keys only. `defstate pin --merge` checks
 * the partial files of every shard against each other and the project, and writes the pin file.
 */
export const PartialPinFileSchema = z
  .object({ ...pinFileFields, shard: PinFileShardSchema })
  .strict()
  .superRefine(entriesNameTheirKeys);
export type PartialPinFile = z.infer<typeof PartialPinFileSchema>;
